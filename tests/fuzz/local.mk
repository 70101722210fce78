# tests/fuzz/: the libFuzzer targets (see tests/fuzz/README.md). Built only on request, by
# `make fuzz-targets`, in a tree configured with clang++ and
# CXXFLAGS="... -fsanitize=address,undefined -fsanitize=fuzzer-no-link": the ASan+UBSan tree of
# scripts/build.sh (SSM_ASAN=1), where they link against the objects the sanitizer unit tests
# are built from (no compile of their own but the target files), or the tree that
# tests/fuzz/build.sh configures. Each target links only the archives it reads from.
FUZZ_TARGETS = tests/fuzz/fuzz_mime tests/fuzz/fuzz_mime_header tests/fuzz/fuzz_cms \
	tests/fuzz/fuzz_cms_envelope tests/fuzz/fuzz_verify tests/fuzz/fuzz_decrypt \
	tests/fuzz/fuzz_auth_results tests/fuzz/fuzz_security_label tests/fuzz/fuzz_receipt \
	tests/fuzz/fuzz_clearance tests/fuzz/fuzz_ml_expansion tests/fuzz/fuzz_decompress \
	tests/fuzz/fuzz_crl tests/fuzz/fuzz_name_constraints tests/fuzz/fuzz_address \
	tests/fuzz/fuzz_recipient_delimiter
EXTRA_PROGRAMS += $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS)
fuzz-targets: $(FUZZ_TARGETS)
.PHONY: fuzz-targets

# libFuzzer's main and driver: only at the link, the objects have -fsanitize=fuzzer-no-link.
FUZZER_MAIN_FLAGS = -fsanitize=fuzzer
FUZZ_LIBS = $(SSM_UNITY_LIBS) $(GNUTLS_LIBS) $(TASN1_LIBS) $(NETTLE_LIBS) $(GMP_LIBS) $(ZLIB_LIBS) $(IDN2_LIBS) $(UNISTRING_LIBS)
FUZZ_MIME_LIBS = smime/mime/libssm_mime.a smime/cms/libssm_cms.a base/libssm_base.a $(FUZZ_LIBS)
FUZZ_CMS_LIBS = smime/cms/libssm_cms.a base/libssm_base.a $(FUZZ_LIBS)
FUZZ_PKI_LIBS = pki/libssm_pki.a base/libssm_base.a $(FUZZ_LIBS)

tests_fuzz_fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.cpp tests/fuzz/one_byte_source.h
tests_fuzz_fuzz_mime_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_mime_LDADD = $(FUZZ_MIME_LIBS)
tests_fuzz_fuzz_mime_header_SOURCES = tests/fuzz/fuzz_mime_header.cpp tests/fuzz/one_byte_source.h
tests_fuzz_fuzz_mime_header_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_mime_header_LDADD = $(FUZZ_MIME_LIBS)
tests_fuzz_fuzz_verify_SOURCES = tests/fuzz/fuzz_verify.cpp
tests_fuzz_fuzz_verify_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_verify_LDADD = $(FUZZ_MIME_LIBS)
tests_fuzz_fuzz_security_label_SOURCES = tests/fuzz/fuzz_security_label.cpp
tests_fuzz_fuzz_security_label_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_security_label_LDADD = $(FUZZ_MIME_LIBS)
# milter/auth_results alone (the same object as in libssm_milter.a), not the milter library.
tests_fuzz_fuzz_auth_results_SOURCES = tests/fuzz/fuzz_auth_results.cpp milter/auth_results.cpp
tests_fuzz_fuzz_auth_results_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_auth_results_LDADD = $(FUZZ_MIME_LIBS)

tests_fuzz_fuzz_cms_SOURCES = tests/fuzz/fuzz_cms.cpp
tests_fuzz_fuzz_cms_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_cms_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_cms_envelope_SOURCES = tests/fuzz/fuzz_cms_envelope.cpp
tests_fuzz_fuzz_cms_envelope_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_cms_envelope_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_decrypt_SOURCES = tests/fuzz/fuzz_decrypt.cpp
tests_fuzz_fuzz_decrypt_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_decrypt_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_receipt_SOURCES = tests/fuzz/fuzz_receipt.cpp
tests_fuzz_fuzz_receipt_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_receipt_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_clearance_SOURCES = tests/fuzz/fuzz_clearance.cpp
tests_fuzz_fuzz_clearance_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_clearance_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_ml_expansion_SOURCES = tests/fuzz/fuzz_ml_expansion.cpp
tests_fuzz_fuzz_ml_expansion_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_ml_expansion_LDADD = $(FUZZ_CMS_LIBS)
tests_fuzz_fuzz_decompress_SOURCES = tests/fuzz/fuzz_decompress.cpp tests/fuzz/one_byte_source.h
tests_fuzz_fuzz_decompress_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_decompress_LDADD = $(FUZZ_CMS_LIBS)

tests_fuzz_fuzz_crl_SOURCES = tests/fuzz/fuzz_crl.cpp
tests_fuzz_fuzz_crl_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_crl_LDADD = $(FUZZ_PKI_LIBS)
tests_fuzz_fuzz_name_constraints_SOURCES = tests/fuzz/fuzz_name_constraints.cpp
tests_fuzz_fuzz_name_constraints_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_name_constraints_LDADD = $(FUZZ_PKI_LIBS)

tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz_address.cpp
tests_fuzz_fuzz_address_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_address_LDADD = base/libssm_base.a $(FUZZ_LIBS)
tests_fuzz_fuzz_recipient_delimiter_SOURCES = tests/fuzz/fuzz_recipient_delimiter.cpp
tests_fuzz_fuzz_recipient_delimiter_LDFLAGS = $(FUZZER_MAIN_FLAGS)
tests_fuzz_fuzz_recipient_delimiter_LDADD = policy/libssm_policy.a base/libssm_base.a $(FUZZ_LIBS)
