// The Swift half of Redvest's iOS platform seam. Rust calls these methods
// through the Objective-C runtime (src/platform/ios.rs); the JSON shapes are
// decoded in src/platform/mobile.rs. Every method returns an NSString
// because the generated Rust call reads each result as an object pointer:
// a nil status means success.
//
// NOTE: written against the iOS 15 SDK documentation; it has not been
// compiled or run yet (see docs/MOBILE.md).
import CoreLocation
import Foundation
import Network
import PhotosUI
import UIKit

@objc(RedvestBridge)
public final class RedvestBridge: NSObject {
    private let location = LocationFeed()
    private let network = NetworkWatch()
    private let photos = PhotoSession()

    override public init() {
        super.init()
        network.start()
    }

    // MARK: location

    @objc public func startLocation(_ intervalMs: Int64) -> NSString? {
        return location.start() as NSString?
    }

    @objc public func beginBackgroundLocation() -> NSString? {
        return location.beginBackground() as NSString?
    }

    @objc public func endBackgroundLocation() -> NSString? {
        location.endBackground()
        return nil
    }

    @objc public func drainFixes() -> NSString {
        return location.drain() as NSString
    }

    // MARK: connectivity

    @objc public func networkState() -> NSString {
        return network.state as NSString
    }

    // MARK: photos

    @objc public func startPhoto(_ source: NSString) -> NSString? {
        return photos.start(source: source as String) as NSString?
    }

    @objc public func takePhotoResult() -> NSString? {
        return photos.takeResult() as NSString?
    }

    // MARK: clock

    /// CLOCK_MONOTONIC counts time asleep on Darwin; the boot session UUID
    /// changes at every boot.
    @objc public func monotonicClock() -> NSString {
        let millis = Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC) / 1_000_000)
        let reading: [String: Any] = ["boot_id": bootSessionId(), "millis": millis]
        return json(reading) as NSString
    }
}

private func json(_ object: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object),
          let text = String(data: data, encoding: .utf8) else { return "null" }
    return text
}

private func bootSessionId() -> String {
    var size = 0
    guard sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 0 else { return "" }
    var buffer = [CChar](repeating: 0, count: size)
    guard sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0) == 0 else { return "" }
    return String(cString: buffer)
}

/// Buffers every fix from Core Location until Rust drains them.
private final class LocationFeed: NSObject, CLLocationManagerDelegate {
    /// Two hours at one fix a second, with margin; the oldest fix goes first.
    private let maxBuffered = 10_000
    private let lock = NSLock()
    private var buffer: [[String: Any]] = []
    private var manager: CLLocationManager?
    private var denied = false

    /// Creates the manager on the main thread, which has the run loop that
    /// Core Location delivers to, and asks for "when in use" permission.
    func start() -> String? {
        if denied {
            return "location permission denied; allow it in Settings > Redvest > Location"
        }
        DispatchQueue.main.async {
            if self.manager != nil { return }
            let manager = CLLocationManager()
            manager.delegate = self
            manager.desiredAccuracy = kCLLocationAccuracyBest
            manager.distanceFilter = kCLDistanceFilterNone
            manager.activityType = .fitness
            manager.requestWhenInUseAuthorization()
            manager.startUpdatingLocation()
            self.manager = manager
        }
        return nil
    }

    /// Asks for "always" permission and keeps updates running in the
    /// background, with the blue status-bar indicator, until the patrol ends.
    func beginBackground() -> String? {
        if denied {
            return "location permission denied; allow it in Settings > Redvest > Location"
        }
        DispatchQueue.main.async {
            guard let manager = self.manager else { return }
            manager.requestAlwaysAuthorization()
            manager.allowsBackgroundLocationUpdates = true
            manager.pausesLocationUpdatesAutomatically = false
            manager.showsBackgroundLocationIndicator = true
        }
        return nil
    }

    func endBackground() {
        DispatchQueue.main.async {
            self.manager?.allowsBackgroundLocationUpdates = false
        }
    }

    func drain() -> String {
        lock.lock()
        let fixes = buffer
        buffer.removeAll()
        lock.unlock()
        return json(fixes)
    }

    func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        lock.lock()
        defer { lock.unlock() }
        for location in locations {
            buffer.append(encode(location))
        }
        if buffer.count > maxBuffered {
            buffer.removeFirst(buffer.count - maxBuffered)
        }
    }

    func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        let status = manager.authorizationStatus
        denied = status == .denied || status == .restricted
    }

    private func encode(_ location: CLLocation) -> [String: Any] {
        let mock = location.sourceInformation?.isSimulatedBySoftware ?? false
        return [
            "lat": location.coordinate.latitude,
            "lon": location.coordinate.longitude,
            "accuracy_m": location.horizontalAccuracy >= 0 ? location.horizontalAccuracy : NSNull(),
            "time_ms": Int64(location.timestamp.timeIntervalSince1970 * 1000),
            "speed_mps": location.speed >= 0 ? location.speed : NSNull(),
            "bearing_deg": location.course >= 0 ? location.course : NSNull(),
            "provider": "gps",
            "mock": mock,
        ]
    }
}

/// Tracks the network path through NWPathMonitor. iOS has no "validated"
/// flag, so a satisfied path reports "connected" and the server probe decides.
private final class NetworkWatch {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "org.redvest.network")
    private(set) var state = "none"

    func start() {
        monitor.pathUpdateHandler = { [weak self] path in
            self?.state = path.status == .satisfied ? "connected" : "none"
        }
        monitor.start(queue: queue)
    }
}

/// Camera capture and photo picking into the app's Documents/captures.
private final class PhotoSession: NSObject, UIImagePickerControllerDelegate,
    UINavigationControllerDelegate, PHPickerViewControllerDelegate
{
    private let lock = NSLock()
    private var result: String?

    func start(source: String) -> String? {
        setResult(nil)
        DispatchQueue.main.async {
            guard let root = Self.topController() else {
                self.finish(failed: "no window to show the \(source) on")
                return
            }
            switch source {
            case "camera": self.presentCamera(from: root)
            case "library": self.presentPicker(from: root)
            default: self.finish(failed: "unknown photo source \(source)")
            }
        }
        return nil
    }

    func takeResult() -> String? {
        lock.lock()
        defer { lock.unlock() }
        let taken = result
        result = nil
        return taken
    }

    private func setResult(_ value: String?) {
        lock.lock()
        result = value
        lock.unlock()
    }

    private func presentCamera(from root: UIViewController) {
        guard UIImagePickerController.isSourceTypeAvailable(.camera) else {
            finish(failed: "this device has no camera")
            return
        }
        let picker = UIImagePickerController()
        picker.sourceType = .camera
        picker.delegate = self
        root.present(picker, animated: true)
    }

    private func presentPicker(from root: UIViewController) {
        var configuration = PHPickerConfiguration()
        configuration.filter = .images
        configuration.selectionLimit = 1
        let picker = PHPickerViewController(configuration: configuration)
        picker.delegate = self
        root.present(picker, animated: true)
    }

    func imagePickerController(
        _ picker: UIImagePickerController,
        didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]
    ) {
        picker.dismiss(animated: true)
        guard let image = info[.originalImage] as? UIImage,
              let data = image.jpegData(compressionQuality: 0.9) else {
            finish(failed: "the camera returned no image")
            return
        }
        save(data)
    }

    func imagePickerControllerDidCancel(_ picker: UIImagePickerController) {
        picker.dismiss(animated: true)
        setResult(json(["status": "cancelled"]))
    }

    func picker(_ picker: PHPickerViewController, didFinishPicking results: [PHPickerResult]) {
        picker.dismiss(animated: true)
        guard let provider = results.first?.itemProvider else {
            setResult(json(["status": "cancelled"]))
            return
        }
        provider.loadDataRepresentation(forTypeIdentifier: "public.image") { data, error in
            guard let data = data else {
                self.finish(failed: "the picked photo cannot be read: \(error?.localizedDescription ?? "no data")")
                return
            }
            self.save(data)
        }
    }

    private func save(_ data: Data) {
        do {
            let folder = try FileManager.default
                .url(for: .documentDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                .appendingPathComponent("captures", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent(UUID().uuidString + ".jpg")
            try data.write(to: file, options: .completeFileProtectionUntilFirstUserAuthentication)
            setResult(json(["status": "saved", "path": file.path]))
        } catch {
            finish(failed: "saving the photo failed: \(error.localizedDescription)")
        }
    }

    private func finish(failed detail: String) {
        setResult(json(["status": "failed", "detail": detail]))
    }

    private static func topController() -> UIViewController? {
        let scenes = UIApplication.shared.connectedScenes.compactMap { $0 as? UIWindowScene }
        var top = scenes.flatMap(\.windows).first(where: \.isKeyWindow)?.rootViewController
        while let presented = top?.presentedViewController {
            top = presented
        }
        return top
    }
}
