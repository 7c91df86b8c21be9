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

fn put(sha256: &str, token: &str, bytes: &[u8]) -> Request<Body> {
    Request::put(format!("/v1/photos/{sha256}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(bytes.to_vec()))
        .unwrap()
}

fn reference(photo: &[u8]) -> PhotoRef {
    PhotoRef {
        sha256: sha256_hex(photo),
        bytes: photo.len() as u64,
        width: 800,
        height: 600,
    }
}

/// Volunteer A (squad 1) pushes a lead naming the photo and uploads it.
async fn squad_one_photo(server: &TestServer) -> (Vec<u8>, String) {
    let owner = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let record = lead(owner.member.id, "squad 1 hazard", vec![reference(&photo)]);
    server.push(&owner, 1, &[record]).await;
    let uploaded = server.send(put(&sha, &owner.token, &photo)).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    (photo, sha)
}

#[tokio::test]
async fn naming_a_hash_grants_nothing() {
    let server = TestServer::start();
    let (photo, sha) = squad_one_photo(&server).await;
    let outsider = server.sign_in(VOLUNTEER_C).await;
    let claim = lead(outsider.member.id, "not mine", vec![reference(&photo)]);
    let pushed = server.push(&outsider, 1, &[claim]).await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
    let leader_2 = server.sign_in(LEADER_2).await;

    let by_claimant = server
        .get(&format!("/v1/photos/{sha}"), &outsider.token)
        .await;
    let by_its_leader = server
        .get(&format!("/v1/photos/{sha}"), &leader_2.token)
        .await;
    let status = server
        .get(&format!("/v1/photos/{sha}/status"), &outsider.token)
        .await;

    assert_eq!(by_claimant.status, StatusCode::NOT_FOUND);
    assert_eq!(by_its_leader.status, StatusCode::NOT_FOUND);
    assert_eq!(status.body["complete"], false, "existence is not revealed");
    assert_eq!(status.body["bytes_received"], 0);
}

#[tokio::test]
async fn second_uploader_proves_bytes() {
    let server = TestServer::start();
    let (photo, sha) = squad_one_photo(&server).await;
    let other = server.sign_in(VOLUNTEER_C).await;
    let record = lead(other.member.id, "same photo", vec![reference(&photo)]);
    server.push(&other, 1, std::slice::from_ref(&record)).await;
    let leader_2 = server.sign_in(LEADER_2).await;

    let before = server
        .get(&format!("/v1/photos/{sha}"), &leader_2.token)
        .await;
    let uploaded = server.send(put(&sha, &other.token, &photo)).await;
    let after = server
        .get(&format!("/v1/photos/{sha}"), &leader_2.token)
        .await;
    let submission = server
        .pulled_submission(&leader_2, record.id)
        .await
        .unwrap();

    assert_eq!(before.status, StatusCode::NOT_FOUND);
    assert_eq!(uploaded.body["complete"], true, "{}", uploaded.body);
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.bytes, photo);
    assert_eq!(submission.photos_received, 1);
}

#[tokio::test]
async fn uploader_reads_unnamed_photo() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_B).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    server.send(put(&sha, &volunteer.token, &photo)).await;

    let own = server
        .get(&format!("/v1/photos/{sha}"), &volunteer.token)
        .await;

    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        server.count("SELECT count(*) FROM photos WHERE uploader_id IS NOT NULL"),
        1
    );
}

#[tokio::test]
async fn others_cannot_discard_a_partial() {
    let server = TestServer::start();
    let owner = server.sign_in(VOLUNTEER_A).await;
    let other = server.sign_in(VOLUNTEER_B).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let first = server
        .send(patch(&sha, &owner.token, 0, photo.len(), &photo[..CHUNK]))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    // A lying Upload-Length that ends the upload at the first chunk, and a
    // whole-file PUT of the wrong bytes.
    let lying = server
        .send(patch(&sha, &other.token, 0, CHUNK, &photo[..CHUNK]))
        .await;
    let wrong_put = server.send(put(&sha, &other.token, b"not the photo")).await;
    let status = server
        .get(&format!("/v1/photos/{sha}/status"), &owner.token)
        .await;
    let rest = server
        .send(patch(
            &sha,
            &owner.token,
            CHUNK,
            photo.len(),
            &photo[CHUNK..],
        ))
        .await;

    assert_eq!(lying.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_put.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status.body["bytes_received"], CHUNK, "{}", status.body);
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.body);
    assert_eq!(rest.body["complete"], true);
}

#[tokio::test]
async fn status_finishes_a_full_partial() {
    let server = TestServer::start();
    let owner = server.sign_in(VOLUNTEER_A).await;
    let photo = jpeg();
    let sha = sha256_hex(&photo);
    let head = server
        .send(patch(&sha, &owner.token, 0, photo.len(), &photo[..CHUNK]))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    // The server was killed after writing the last bytes and before the
    // rename: the partial file contains every byte.
    let partial = server
        .dir
        .path()
        .join("photos/partial")
        .join(format!("{sha}.{}", owner.member.id));
    std::fs::write(&partial, &photo).unwrap();

    let status = server
        .get(&format!("/v1/photos/{sha}/status"), &owner.token)
        .await;
    let download = server.get(&format!("/v1/photos/{sha}"), &owner.token).await;

    assert_eq!(status.body["complete"], true, "{}", status.body);
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, photo);
}

#[tokio::test]
async fn sweep_expires_unnamed_uploads() {
    use chrono::{TimeDelta, Utc};
    use redvest_server::Storage;

    let server = TestServer::start();
    let (_named, named_sha) = squad_one_photo(&server).await;
    let volunteer = server.sign_in(VOLUNTEER_B).await;
    let mut unnamed = jpeg();
    unnamed.extend_from_slice(b"different trailing bytes");
    let unnamed_sha = sha256_hex(&unnamed);
    server
        .send(put(&unnamed_sha, &volunteer.token, &unnamed))
        .await;
    let partial = server
        .send(patch(&named_sha, &volunteer.token, 0, 100_000, &[0; 10]))
        .await;
    assert_eq!(partial.status, StatusCode::OK, "{}", partial.body);

    let soon = server
        .store
        .sweep_photos(Utc::now() + TimeDelta::days(1))
        .unwrap();
    let later = server
        .store
        .sweep_photos(Utc::now() + TimeDelta::days(8))
        .unwrap();
    let unnamed_status = server
        .get(&format!("/v1/photos/{unnamed_sha}"), &volunteer.token)
        .await;
    let owner = server.sign_in(VOLUNTEER_A).await;
    let named_status = server
        .get(&format!("/v1/photos/{named_sha}"), &owner.token)
        .await;

    assert_eq!(soon.photos_deleted, 0);
    assert_eq!(soon.partials_deleted, 0);
    assert_eq!(later.photos_deleted, 1);
    assert_eq!(later.partials_deleted, 1);
    assert_eq!(unnamed_status.status, StatusCode::NOT_FOUND);
    assert_eq!(named_status.status, StatusCode::OK);
}
