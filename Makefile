# dim — Distributed Image Management
#
#   make                 linuxrc for every blade architecture (static, musl) and the dim toolkit
#   make ARCH=x86_64     linuxrc for one architecture only
#   make check           install what is missing, build with -Werror, run every test
#   make demo            the product on a virtual cluster: 2 image servers, 4 PowerPC blades
#   make fuzz            run the fuzz targets (FUZZ_SECONDS each)
#   make bench           measure sizes and the boot timeline
#   make install         PREFIX=/usr/local DESTDIR=
#
# O=DIR puts every output under DIR (default build), V=1 shows commands,
# WERROR=1 turns warnings into errors, ASAN=1 / UBSAN=1 sanitize host builds.
# CROSS_COMPILE overrides the compiler prefix of a single ARCH.
# A config.mak next to this file is read first, for local settings.

-include config.mak

.DEFAULT_GOAL := all

O ?= build
V ?= 0
PREFIX ?= /usr/local
ALL_ARCHS := ppc64le x86_64
ifdef ARCH
ARCHS := $(ARCH)
else
ARCHS ?= $(ALL_ARCHS)
endif
FUZZ_SECONDS ?= 20

ifeq ($(V),1)
Q :=
vecho = @true
else
Q := @
vecho = @printf '  %-8s %s\n'
endif

# Warnings: the same set for the blade and the host.
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings \
	-Wformat=2 -Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough \
	-Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
COMMON_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -fno-strict-aliasing
CFLAGS ?= -O2 -g

# ---------------------------------------------------------------- linuxrc
# Built per blade architecture with the GNU cross compiler and musl's specs.

triplet_ppc64le := powerpc64le-linux-gnu
triplet_x86_64 := x86_64-linux-gnu
musl_ppc64le := powerpc64le-linux-musl
musl_x86_64 := x86_64-linux-musl

LINUXRC_SRCS := $(sort $(wildcard linuxrc/*.c))
LINUXRC_LIB_SRCS := $(filter-out linuxrc/main.c,$(LINUXRC_SRCS))
LINUXRC_CFLAGS := -Os -g $(COMMON_CFLAGS) -static -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -fstack-protector-strong
LINUXRC_LDFLAGS := -static -Wl,--gc-sections

define linuxrc_rules
$(1)_CROSS := $$(if $$(and $$(CROSS_COMPILE),$$(filter 1,$$(words $$(ARCHS)))),$$(CROSS_COMPILE),$$(triplet_$(1))-)
$(1)_CC := $$($(1)_CROSS)gcc -specs /usr/lib/$$(musl_$(1))/musl-gcc.specs
$(1)_OBJS := $$(patsubst %.c,$$(O)/$(1)/obj/%.o,$$(LINUXRC_SRCS))

$$(O)/$(1)/obj/%.o: %.c $$(wildcard linuxrc/*.h)
	@mkdir -p $$(dir $$@)
	$$(vecho) CC "$$@"
	$$(Q)$$($(1)_CC) $$(LINUXRC_CFLAGS) -DDIM_ARCH='"$(1)"' -c -o $$@ $$<

$$(O)/$(1)/linuxrc.debug: $$($(1)_OBJS)
	$$(vecho) LD "$$@"
	$$(Q)$$($(1)_CC) $$(LINUXRC_CFLAGS) $$(LINUXRC_LDFLAGS) -o $$@ $$^

$$(O)/$(1)/linuxrc: $$(O)/$(1)/linuxrc.debug
	$$(vecho) STRIP "$$@"
	$$(Q)$$($(1)_CROSS)strip -o $$@ $$<
endef
$(foreach a,$(ALL_ARCHS),$(eval $(call linuxrc_rules,$(a))))

LINUXRC_BINS := $(foreach a,$(ARCHS),$(O)/$(a)/linuxrc)

# ---------------------------------------------------------------- host builds
# The toolkit, and the linuxrc's pure parts again, natively, for the tests.

HOSTCC ?= gcc
SAN :=
ifeq ($(ASAN),1)
SAN += address
endif
ifeq ($(UBSAN),1)
SAN += undefined
endif
comma := ,
empty :=
space := $(empty) $(empty)
ifneq ($(strip $(SAN)),)
SAN_FLAGS := -fsanitize=$(subst $(space),$(comma),$(strip $(SAN))) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
HO := $(O)/host-san
else
SAN_FLAGS :=
HO := $(O)/host
endif

PKG_LIBS := zlib libxml-2.0 sqlite3 libnfs
HOST_CFLAGS := $(CFLAGS) $(COMMON_CFLAGS) $(SAN_FLAGS) -Ilinuxrc -Iserver \
	$(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null) -DDIM_ARCH='"host"'
HOST_LDLIBS := $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lz -lxml2 -lsqlite3 -lnfs) \
	$(shell net-snmp-config --libs 2>/dev/null || echo -lnetsnmp)
HOST_LDFLAGS := $(SAN_FLAGS)

SERVER_SRCS := $(sort $(wildcard server/*.c))
SERVER_LIB_SRCS := $(filter-out server/dim.c,$(SERVER_SRCS))
SERVER_ALIASES := dhcp image buildzimage nfs bctool bcadmin sync_master sync_server sync_image tftp

# The cluster schema is compiled into dim, so a definition is always checked
# against the schema of the binary that reads it.
SCHEMA := $(wildcard config/dim-cluster.rng)

HOST_LINUXRC_OBJS := $(patsubst %.c,$(HO)/%.o,$(LINUXRC_LIB_SRCS))
HOST_SERVER_OBJS := $(patsubst %.c,$(HO)/%.o,$(SERVER_LIB_SRCS)) \
	$(if $(SCHEMA),$(HO)/gen/schema.o)
HEADERS := $(wildcard linuxrc/*.h server/*.h tests/unit/*.h)

$(HO)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(vecho) HOSTCC "$@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -c -o $@ $<

# const char dim_schema_rng[] = { bytes..., 0 };
%/gen/schema.c: $(SCHEMA)
	@mkdir -p $(dir $@)
	$(vecho) GEN "$@"
	$(Q){ echo '/* generated from $< */'; echo 'const char dim_schema_rng[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0 };'; } >$@.tmp && mv $@.tmp $@

$(HO)/gen/schema.o: $(HO)/gen/schema.c
	$(vecho) HOSTCC "$@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(HO)/liblinuxrc.a: $(HOST_LINUXRC_OBJS)
	$(vecho) AR "$@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(HO)/libdim.a: $(HOST_SERVER_OBJS)
	$(vecho) AR "$@"
	$(Q)rm -f $@ && ar rcs $@ $^ $(if $^,,$(error no server sources))

$(O)/bin/dim: $(HO)/server/dim.o $(HO)/libdim.a $(HO)/liblinuxrc.a
	@mkdir -p $(dir $@)
	$(vecho) LD "$@"
	$(Q)$(HOSTCC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)
	$(Q)for a in $(SERVER_ALIASES); do ln -sf dim $(O)/bin/dim_$$a; done
	$(Q)cp server/syncit $(O)/bin/syncit 2>/dev/null || true

# ---------------------------------------------------------------- unit tests (cmocka)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(HO)/tests/%,$(UNIT_SRCS))

$(HO)/tests/%: $(HO)/tests/unit/%.o $(HO)/libdim.a $(HO)/liblinuxrc.a
	@mkdir -p $(dir $@)
	$(vecho) LD "$@"
	$(Q)$(HOSTCC) $(HOST_LDFLAGS) -o $@ $^ -lcmocka $(HOST_LDLIBS)

# ---------------------------------------------------------------- fuzz targets (libFuzzer)

FUZZ_CC ?= clang
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ilinuxrc -Iserver -DDIM_ARCH='"fuzz"' \
	$(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_SRCS := $(LINUXRC_LIB_SRCS) $(SERVER_LIB_SRCS)

$(O)/fuzz/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(vecho) FUZZCC "$@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(O)/fuzz/obj/gen/schema.o: $(O)/fuzz/gen/schema.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(O)/fuzz/libfuzzlib.a: $(patsubst %.c,$(O)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS)) \
	$(if $(SCHEMA),$(O)/fuzz/obj/gen/schema.o)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/fuzz/%: $(O)/fuzz/obj/tests/fuzz/%.o $(O)/fuzz/libfuzzlib.a
	$(vecho) LD "$@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(HOST_LDLIBS)

# ---------------------------------------------------------------- top-level targets

.SECONDARY:

.PHONY: all linuxrc server deps deps-check deps-demo unit test-unit fuzz fuzz-build \
	fuzz-smoke e2e test-e2e check demo bench install clean

all: linuxrc server

linuxrc: $(LINUXRC_BINS)

server: $(O)/bin/dim

deps:
	$(Q)tests/deps.sh build

unit: $(UNIT_BINS)

test-unit: unit
	$(Q)set -e; for t in $(UNIT_BINS); do echo "  UNIT     $$t"; $$t; done

fuzz-build: $(FUZZ_BINS)

# Each fuzz target runs from its seed corpus; crashes land in $(O)/fuzz/artifacts.
fuzz: fuzz-build
	$(Q)set -e; mkdir -p $(O)/fuzz/artifacts; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(O)/fuzz/corpus/$$n; \
		echo "  FUZZ     $$n ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(O)/fuzz/artifacts/ \
			-print_final_stats=0 $(O)/fuzz/corpus/$$n $$( [ -d tests/fuzz/corpus/$$n ] && echo tests/fuzz/corpus/$$n ) \
			2>$(O)/fuzz/$$n.log || { tail -40 $(O)/fuzz/$$n.log; exit 1; }; \
	done

fuzz-smoke:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# End-to-end: real daemons in network namespaces, real QEMU blades.
test-e2e: all
	$(Q)O=$(abspath $(O)) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

check:
	$(Q)tests/deps.sh check
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)$(MAKE) --no-print-directory WERROR=1 ASAN=1 UBSAN=1 test-unit
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory test-e2e

# make demo: the product on a virtual cluster (qemu/demo).  Its kernel build
# tree is $(O)/kernel, the one make zimage keeps: the first of them builds
# the kernel (minutes), the other reuses it.
demo:
	$(Q)tests/deps.sh demo
	$(Q)$(MAKE) --no-print-directory ARCH=ppc64le all
	$(Q)O=$(abspath $(O)) DEMO_KERNEL_SOURCE=$(KERNEL_SOURCE) qemu/demo

bench:
	$(Q)tests/deps.sh check
	$(Q)$(MAKE) --no-print-directory all
	$(Q)O=$(abspath $(O)) tests/bench/config.sh
	$(Q)O=$(abspath $(O)) tests/bench/boot.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/dim $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(O)/bin/dim $(DESTDIR)$(PREFIX)/sbin/dim
	install -m 755 server/syncit $(DESTDIR)$(PREFIX)/sbin/syncit
	for a in $(SERVER_ALIASES); do ln -sf dim $(DESTDIR)$(PREFIX)/sbin/dim_$$a; done
	for a in $(ARCHS); do install -D -m 755 $(O)/$$a/linuxrc $(DESTDIR)$(PREFIX)/lib/dim/$$a/linuxrc; done
	install -d $(DESTDIR)$(PREFIX)/share/dim/kernel-config
	install -m 644 kernel-config/*.config $(DESTDIR)$(PREFIX)/share/dim/kernel-config/
	install -m 644 config/dim-cluster.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 linuxrc/dim-linuxrc.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 server/dim.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(O)

# ---------------------------------------------------------------- zimage (issue 6, netboot kernel)
# make zimage [ARCH=ppc64le|x86_64]: the blade kernel from kernel-config/ with
# every driver built in and the linuxrc initramfs linked in, the one file the
# firmware fetches by TFTP: $(O)/zimage/ARCH/zImage.of (SLOF) or bzImage
# (PXE).  Debian's linux-source is unpacked into $(O)/kernel/src once, the
# objects stay in $(O)/kernel/ARCH: a rebuild after an initramfs change
# relinks in seconds.  KERNEL_SOURCE=tarball-or-tree, ZIMAGE_FLAGS="-b BUSYBOX".

KERNEL_SOURCE ?= $(firstword $(wildcard /usr/src/linux-source-*.tar.xz))
ZIMAGE_FLAGS ?=

.PHONY: zimage
zimage:
	$(Q)tests/deps.sh zimage
	$(Q)$(MAKE) --no-print-directory all
	$(Q)set -e; for a in $(ARCHS); do \
		$(O)/bin/dim buildzimage --zimage -a $$a $(if $(KERNEL_SOURCE),--kernel-source $(KERNEL_SOURCE)) \
			--kernel-config kernel-config --kernel-build $(O)/kernel $(ZIMAGE_FLAGS) \
			-o $(O)/zimage/$$a; \
	done
