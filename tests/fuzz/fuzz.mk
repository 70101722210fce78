# Plain make file (not automake) that builds the libFuzzer targets of tests/fuzz/ with
# clang++ and -fsanitize=fuzzer,address,undefined; driven by tests/fuzz/build.sh, which sets
# SRCDIR, GENDIR (holds smime/cms/cms_asn1_tab.c) and runs it in the output folder.
# Objects go into one archive per source folder, so each target links only what it uses and
# a rebuild compiles only what changed (-MMD dependencies).
CXX ?= clang++
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
OPT ?= -O1
CXXFLAGS_FUZZ := -std=c++20 -gline-tables-only $(OPT) -fno-omit-frame-pointer $(SAN) -Wall -Wextra \
	-I$(SRCDIR) -I$(GENDIR) -MMD -MP
LIBS := $(shell pkg-config --libs gnutls nettle hogweed libtasn1 zlib) -lgmp

BASE_SRC := $(notdir $(wildcard $(SRCDIR)/base/*.cpp))
CMS_SRC := $(notdir $(wildcard $(SRCDIR)/smime/cms/*.cpp))
MIME_SRC := $(notdir $(wildcard $(SRCDIR)/smime/mime/*.cpp))
BASE_OBJ := $(addprefix obj/base/,$(BASE_SRC:.cpp=.o))
CMS_OBJ := $(addprefix obj/smime/cms/,$(CMS_SRC:.cpp=.o))
MIME_OBJ := $(addprefix obj/smime/mime/,$(MIME_SRC:.cpp=.o))
AR_OBJ := obj/milter/auth_results.o
# The CRL readers and what they need (fuzz_crl): not the trust store or the network code.
CRL_OBJ := obj/pki/certificate.o obj/pki/der_tlv.o obj/pki/crl_scope.o obj/pki/crl_entries.o
# The name-constraint readers, matching and path walk (fuzz_name_constraints).
NC_OBJ := obj/pki/certificate.o obj/pki/der_tlv.o obj/pki/general_names.o obj/pki/name_match.o \
	obj/pki/name_constraints.o

TARGETS := fuzz_mime fuzz_mime_header fuzz_cms fuzz_cms_envelope fuzz_verify fuzz_decrypt fuzz_auth_results
TARGETS += fuzz_security_label fuzz_receipt
TARGETS += fuzz_clearance
TARGETS += fuzz_ml_expansion
TARGETS += fuzz_decompress
TARGETS += fuzz_crl
TARGETS += fuzz_name_constraints
TARGETS += fuzz_address
all: $(TARGETS)

# Library code gets the sanitizers and fuzzer coverage instrumentation, not the fuzzer main.
obj/%.o: $(SRCDIR)/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c $< -o $@

obj/smime/cms/asn1.o: $(GENDIR)/smime/cms/cms_asn1_tab.c

lib/base.a: $(BASE_OBJ)
lib/cms.a: $(CMS_OBJ)
lib/mime.a: $(MIME_OBJ)
lib/auth_results.a: $(AR_OBJ)
lib/crl.a: $(CRL_OBJ)
lib/nc.a: $(NC_OBJ)
lib/%.a:
	@mkdir -p lib
	rm -f $@ && ar rcs $@ $^

fuzz_mime fuzz_mime_header: lib/mime.a lib/base.a
fuzz_cms fuzz_cms_envelope fuzz_decrypt: lib/cms.a lib/base.a
fuzz_verify: lib/cms.a lib/mime.a lib/base.a
fuzz_auth_results: lib/auth_results.a lib/mime.a lib/base.a
fuzz_security_label: lib/mime.a lib/cms.a lib/base.a
fuzz_receipt: lib/cms.a lib/base.a
fuzz_clearance: lib/cms.a lib/base.a
fuzz_ml_expansion: lib/cms.a lib/base.a
fuzz_decompress: lib/cms.a lib/base.a
fuzz_crl: lib/crl.a lib/base.a
fuzz_name_constraints: lib/nc.a lib/base.a
fuzz_address: lib/base.a

$(TARGETS): %: $(SRCDIR)/tests/fuzz/%.cpp
	$(CXX) $(CXXFLAGS_FUZZ) -fsanitize=fuzzer $< $(filter %.a,$^) $(filter %.a,$^) \
		$(LIBS) -o $@

.PHONY: all
-include $(shell find obj -name '*.d' 2>/dev/null) $(wildcard *.d)
