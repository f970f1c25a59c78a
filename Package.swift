// swift-tools-version: 6.1
//
// Two builds from one manifest:
//  - host (default): every module, the host tool `plumb` and the tests;
//  - firmware (EMBEDDED=1): only what ships in `plumbd`, compiled in Embedded Swift for
//    aarch64 (see Makefile `firmware` and docs/building.md).
import PackageDescription

let embedded = Context.environment["EMBEDDED"] == "1"

let shippedSwift: [SwiftSetting] = embedded
    ? [.enableExperimentalFeature("Embedded"), .unsafeFlags(["-wmo", "-Osize", "-Xfrontend", "-function-sections"])]
    : [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

func shipped(_ name: String, _ deps: [Target.Dependency], linking: [LinkerSetting] = []) -> Target {
    .target(name: name, dependencies: deps, swiftSettings: shippedSwift, linkerSettings: linking)
}

var targets: [Target] = [
    .target(
        name: "CLinux",
        linkerSettings: [.linkedLibrary("gpiod"), .linkedLibrary("i2c")]
    ),
    .target(name: "CSodium"),
    shipped("PlumbCore", [], linking: [.linkedLibrary("m")]),
    shipped("PlumbHAL", ["PlumbCore"]),
    shipped("PlumbDevices", ["PlumbCore", "PlumbHAL"]),
    shipped("PlumbFlight", ["PlumbCore", "PlumbHAL"]),
    shipped("PlumbLink", ["PlumbCore", "CSodium"]),
    shipped("PlumbVehicle", ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbFlight", "PlumbLink"]),
    shipped("PlumbLinux", ["CLinux", "PlumbCore", "PlumbHAL", "PlumbLink", "PlumbVehicle"]),
    .executableTarget(
        name: "plumbd",
        dependencies: ["CLinux", "PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbFlight",
                       "PlumbLink", "PlumbLinux", "PlumbVehicle"],
        swiftSettings: shippedSwift
    ),
]

var products: [Product] = [.executable(name: "plumbd", targets: ["plumbd"])]
var dependencies: [Package.Dependency] = []

if !embedded {
    dependencies.append(.package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"))
    targets += [
        // Device models, the simulated bus, the world, the simulated autopilot, the
        // fake-/dev server, scenarios and reports: host-only.
        .target(name: "PlumbHIL",
                dependencies: ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbFlight", "PlumbLink", "PlumbVehicle"],
                path: "HIL",
                exclude: ["scenarios", "preload", "README.md", "compare-modes.sh"],
                sources: ["Models", "Bus", "World", "Autopilot", "Server", "Report", "Runner"],
                // The simulator's classes are stepped a million times a run: no dynamic
                // exclusivity checks in release (the debug build keeps them).
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"],
                                             .when(configuration: .release))]),
        .executableTarget(
            name: "plumb",
            dependencies: ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbFlight", "PlumbLink",
                           "PlumbLinux", "PlumbHIL", "PlumbVehicle",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "PlumbCoreTests", dependencies: ["PlumbCore"]),
        .testTarget(name: "PlumbHALTests", dependencies: ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbLink"]),
        .testTarget(name: "PlumbLinuxTests", dependencies: ["CLinux", "PlumbCore", "PlumbHAL", "PlumbLinux", "PlumbFlight"]),
        .testTarget(name: "PlumbdTests", dependencies: ["PlumbCore", "PlumbHAL", "PlumbLink", "PlumbLinux"]),
        .testTarget(name: "PlumbLinkTests", dependencies: ["PlumbLink"]),
        .testTarget(name: "PlumbHILTests",
                    dependencies: ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbFlight", "PlumbLink", "PlumbVehicle", "PlumbHIL"]),
        .testTarget(name: "PlumbFlightTests", dependencies: ["PlumbCore", "PlumbFlight"]),
        .testTarget(name: "PlumbVehicleTests",
                    dependencies: ["CLinux", "PlumbCore", "PlumbHAL", "PlumbFlight", "PlumbLinux", "PlumbVehicle"]),
        .testTarget(name: "PlumbDevicesTests", dependencies: ["PlumbCore", "PlumbHAL", "PlumbDevices", "PlumbHIL"]),
    ]
    products.append(.executable(name: "plumb", targets: ["plumb"]))
}

let package = Package(
    name: "Plumbline",
    products: products,
    dependencies: dependencies,
    targets: targets
)
