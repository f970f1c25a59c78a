import CLinux

// Embedded Swift has no CommandLine, so the firmware enters through a C-callable main
// that the link step names as the program's entry (see .ci/link-firmware.sh);
// the host build uses Swift's own.
#if hasFeature(Embedded)
@_cdecl("plumbd_c_main")
func plumbdCMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var args: [String] = []
    for i in 0..<Int(argc) {
        if let p = argv[i] { args.append(String(cString: p)) }
    }
    return daemonMain(args)
}
#else
exit(daemonMain(CommandLine.arguments))
#endif
