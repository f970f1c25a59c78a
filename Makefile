# Plumbline. `make demo` and `make test` do everything on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := build

SWIFT          ?= swift
FIRMWARE       := build/aarch64/plumbd
FW_SCRATCH     := .build-aarch64
QEMU           := qemu-aarch64 -L /usr/aarch64-linux-gnu
BOARDS         := $(filter-out Board/plumbd.toml,$(wildcard Board/*.toml))
FUZZ_SECONDS   ?= 20
FUZZ_DIR       := build/fuzz
FUZZ_TARGETS   := toml board cobs ubx link
# The Debian package: VERSION-REVISION from Board/debian/changelog (VERSION must be plumbd's).
DEB_VERSION    := $(shell head -n 1 Board/debian/changelog | cut -d ' ' -f 2 | tr -d '()')
DEB            := build/deb/plumbline_$(DEB_VERSION)_arm64.deb

# make flash needs a drone: say so before building anything.
ifneq ($(filter flash,$(MAKECMDGOALS)),)
ifeq ($(strip $(HOST)),)
$(error HOST is missing: make flash HOST=user@drone [BOARD=rpi4] [DRY_RUN=1])
endif
endif

.PHONY: deps build test unit firmware firmware-check fuzz fuzz-build dissector hil-preload systemd deb deb-check flash demo bench clean

deps:
	@bash .ci/deps.sh

build: deps
	$(SWIFT) build

unit: deps
	$(SWIFT) test

# Embedded Swift for aarch64 Linux: compile with SwiftPM, link with the cross toolchain.
firmware: deps
	@bash .ci/build-firmware.sh $(FW_SCRATCH) $(FIRMWARE)
	@file $(FIRMWARE)

firmware-check: firmware
	$(QEMU) $(FIRMWARE) --version
	@for b in $(BOARDS); do \
	  echo "== $$b"; \
	  $(QEMU) $(FIRMWARE) --config Board/plumbd.toml --board $$b --check-config || exit 1; \
	done
	@echo "== control loop under qemu: 50 ticks at 100 Hz on a board with no hardware"
	$(QEMU) $(FIRMWARE) --config Tests/fixtures/unprivileged.toml --board Tests/fixtures/no-hardware.toml --ticks 50

fuzz-build: deps
	@bash .ci/fuzz.sh build $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz: fuzz-build
	@bash .ci/fuzz.sh run $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The Wireshark dissector against a capture the tests write (tshark).
dissector: deps
	bash Tests/link/test_dissector.sh

# The LD_PRELOAD fake /dev under libgpiod's and i2c-tools' own programs, host and aarch64.
hil-preload: deps
	BUILD_DIR=build/hil bash HIL/preload/test.sh
	gcc -O2 -shared -fPIC -Wall -o build/hil/malloccount.so HIL/preload/malloccount.c
	aarch64-linux-gnu-gcc -O2 -shared -fPIC -Wall -o build/hil/malloccount-aarch64.so HIL/preload/malloccount.c

# The systemd unit's exposure score, and sd_notify (READY, WATCHDOG, STOPPING) from the
# host daemon and from the firmware under qemu.
systemd: unit firmware
	python3 Tests/systemd/test_service.py
	python3 Tests/systemd/test_service.py $(QEMU) $(FIRMWARE)

# The arm64 .deb of the firmware (Board/debian/): the daemon, its unit, the config as a
# conffile, the board files, the maintainer scripts.
deb: firmware
	@bash Board/debian/build-deb.sh $(FIRMWARE) $(DEB)

# The package under lintian, installed into an empty root with dpkg --root (maintainer
# scripts included), the installed plumbd under qemu, removal and purge, make flash's
# dry run and its config edit, shellcheck on the scripts.
deb-check: deb
	@bash Tests/deb/test_deb.sh $(DEB) $(FIRMWARE)

# Install the package on a drone: make flash HOST=user@drone [BOARD=rpi4] [DRY_RUN=1]
flash: deb
	@DRY_RUN=$(DRY_RUN) bash Board/debian/flash.sh '$(HOST)' '$(BOARD)' $(DEB)

test: deps hil-preload firmware-check unit dissector systemd hil deb-check
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	@echo "make test: unit tests, firmware check, HIL scenarios and fuzz run passed"

# The HIL: every scenario in-process, the landing and drop accuracy over 50 seeds in wind
# (every run must also pass its own scenario), and the nominal drop flown by the unchanged host daemon (process mode) and the aarch64 firmware
# under qemu (firmware mode), each of which must give the in-process run's time series.
hil: deps hil-preload firmware
	$(SWIFT) build -c release --product plumb
	$(SWIFT) build -c release --product plumbd
	.build/release/plumb hil suite
	.build/release/plumb hil sweep landing-wind --seeds 50 --landing-p95 0.10 --landing-max 0.30
	.build/release/plumb hil sweep wind-gusts --seeds 50 --parcel-p95 0.25 --landing-p95 0.10 --landing-max 0.30
	@bash HIL/compare-modes.sh nominal-drop 1
	@# Dispatch over the real link: the mission upload, the start, pause/resume and abort,
	@# and its loss; the daemon (host and aarch64) must fly exactly the in-process flight.
	@bash HIL/compare-modes.sh dispatch-commands 1
	@bash HIL/compare-modes.sh dispatch-link-lost 1
	@bash HIL/compare-modes.sh wind-gusts 1

# Figures, not tests: printed as a table with their targets, and kept in build/bench.json.
bench: deps firmware hil-preload
	$(SWIFT) build -c release --product plumbd
	$(SWIFT) build -c release --product plumb
	@mkdir -p build
	.build/release/plumb bench --json build/bench.json --firmware-bytes $$(stat -c %s $(FIRMWARE))

# A whole delivery: the daemon (process mode, over the faked /dev) flies the nominal rope
# drop against the simulated world and autopilot; progress while it flies, then the report.
demo: deps hil-preload
	$(SWIFT) build -c release --product plumb
	$(SWIFT) build -c release --product plumbd
	.build/release/plumb hil run nominal-drop --mode process --report build/demo

clean:
	rm -rf .build $(FW_SCRATCH) build
