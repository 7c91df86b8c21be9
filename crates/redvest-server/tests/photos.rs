//! Resumable photo uploads, whole-file uploads and who may download.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use redvest_proto::records::PhotoRef;

const CHUNK: usize = 64 * 1024;

fn patch(sha256: &str, token: &str, offset: usize, total: usize, chunk: &[u8]) -> Request<Body> {
    Request::patch(format!("/v1/photos/{sha256}"))
        .header("authorization", format!("Bearer {token}"))
        .header("upload-offset", offset.to_string())
        .header("upload-length", total.to_string())
        .header("chunk-sha256", sha256_hex(chunk))
        .body(Body::from(chunk.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn cut_upload_resumes_at_offset() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    assert!(
        photo.len() > 4 * CHUNK,
        "the test JPEG needs more than four chunks"
    );
    let reference = PhotoRef {
        sha256: sha.clone(),
        bytes: photo.len() as u64,
        width: 800,
        height: 600,
    };
    let record = lead(volunteer.member.id, "hazard with photo", vec![reference]);
    server
        .push(&volunteer, 1, std::slice::from_ref(&record))
        .await;

    for (index, chunk) in photo.chunks(CHUNK).take(3).enumerate() {
        let reply = server
            .send(patch(
                &sha,
                &volunteer.token,
                index * CHUNK,
                photo.len(),
                chunk,
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "chunk {index}: {}",
            reply.body
        );
    }
    let status = server
        .get(&format!("/v1/photos/{sha}/status"), &volunteer.token)
        .await;
    let resume_at = status.body["bytes_received"].as_u64().unwrap() as usize;
    let wrong = server
        .send(patch(
            &sha,
            &volunteer.token,
            0,
            photo.len(),
            &photo[..CHUNK],
        ))
        .await;
    for (index, chunk) in photo[resume_at..].chunks(CHUNK).enumerate() {
        let offset = resume_at + index * CHUNK;
        let reply = server
            .send(patch(&sha, &volunteer.token, offset, photo.len(), chunk))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "resumed chunk at {offset}: {}",
            reply.body
        );
    }
    let done = server
        .get(&format!("/v1/photos/{sha}/status"), &volunteer.token)
        .await;
    let download = server
        .get(&format!("/v1/photos/{sha}"), &volunteer.token)
        .await;
    let submission = server
        .pulled_submission(&volunteer, record.id)
        .await
        .unwrap();

    assert_eq!(resume_at, 3 * CHUNK);
    assert_eq!(status.body["complete"], false);
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert_eq!(wrong.body["code"], "offset_mismatch");
    assert_eq!(
        wrong.headers["upload-offset"],
        (3 * CHUNK).to_string().as_str()
    );
    assert_eq!(done.body["complete"], true);
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers["content-type"], "image/jpeg");
    assert_eq!(download.bytes, photo);
    assert_eq!(submission.photos_total, 1);
    assert_eq!(submission.photos_received, 1);
}

#[tokio::test]
async fn bad_chunk_checksum_rejected() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let mut request = patch(&sha, &volunteer.token, 0, photo.len(), &photo[..CHUNK]);
    request
        .headers_mut()
        .insert("chunk-sha256", sha256_hex(b"other").parse().unwrap());

    let reply = server.send(request).await;
    let status = server
        .get(&format!("/v1/photos/{sha}/status"), &volunteer.token)
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["code"], "chunk_checksum");
    assert_eq!(status.body["bytes_received"], 0);
}

#[tokio::test]
async fn sha_mismatch_rejected() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let claimed = sha256_hex(b"a different photo");

    let reply = server
        .send(patch(&claimed, &volunteer.token, 0, photo.len(), &photo))
        .await;
    let status = server
        .get(&format!("/v1/photos/{claimed}/status"), &volunteer.token)
        .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["code"], "sha256_mismatch");
    assert_eq!(
        status.body["bytes_received"], 0,
        "the partial upload is discarded"
    );
    assert_eq!(status.body["complete"], false);
}

#[tokio::test]
async fn oversized_upload_length_413() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);

    let reply = server
        .send(patch(
            &sha,
            &volunteer.token,
            0,
            21 * 1024 * 1024,
            &photo[..CHUNK],
        ))
        .await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn put_whole_file_then_dedupe() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let put = || {
        Request::put(format!("/v1/photos/{sha}"))
            .header("authorization", format!("Bearer {}", volunteer.token))
            .body(Body::from(photo.clone()))
            .unwrap()
    };

    let first = server.send(put()).await;
    let chunk_after = server
        .send(patch(
            &sha,
            &volunteer.token,
            0,
            photo.len(),
            &photo[..CHUNK],
        ))
        .await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["complete"], true);
    assert_eq!(chunk_after.status, StatusCode::OK);
    assert_eq!(
        chunk_after.body["complete"], true,
        "a complete photo answers complete at once"
    );
}

#[tokio::test]
async fn download_needs_visible_submission() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let reference = PhotoRef {
        sha256: sha.clone(),
        bytes: photo.len() as u64,
        width: 800,
        height: 600,
    };
    server
        .push(
            &volunteer,
            1,
            &[lead(volunteer.member.id, "x", vec![reference])],
        )
        .await;
    server
        .send(patch(&sha, &volunteer.token, 0, photo.len(), &photo))
        .await;
    let cases = [
        (LEADER_1, StatusCode::OK),
        (LEADER_2, StatusCode::NOT_FOUND),
        (VOLUNTEER_B, StatusCode::NOT_FOUND),
    ];

    for (phone, status) in cases {
        let session = server.sign_in(phone).await;
        let reply = server
            .get(&format!("/v1/photos/{sha}"), &session.token)
            .await;
        assert_eq!(reply.status, status, "{phone}");
    }
}
