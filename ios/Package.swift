// swift-tools-version:5.9
// The Swift half of Redvest's iOS platform seam. `dx bundle --platform ios`
// builds this package into the app's DioxusSwiftPlugins framework because
// src/platform/ios.rs declares it with #[manganis::ffi("ios")].
import PackageDescription

let package = Package(
    name: "RedvestBridge",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "RedvestBridge", type: .dynamic, targets: ["RedvestBridge"]),
    ],
    targets: [
        .target(name: "RedvestBridge", path: "Sources/RedvestBridge"),
    ]
)
