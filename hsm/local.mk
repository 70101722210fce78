# hsm/: PKCS#11 key store over libpkcs11-helper (tokens, PIN, key operations).
noinst_LIBRARIES += hsm/libssm_hsm.a
SSM_SOURCES_hsm = \
	hsm/token_config.h \
	hsm/pkcs11_library.h hsm/pkcs11_library.cpp \
	hsm/pkcs11_handles.h \
	hsm/key_match.h hsm/key_match.cpp hsm/key_proof.h hsm/key_proof.cpp hsm/ecdsa_signature.h \
	hsm/token_ecdh.h hsm/token_ecdh.cpp \
	hsm/raw_module.h hsm/raw_module.cpp \
	hsm/cert_facts.h hsm/cert_facts.cpp \
	hsm/helper_key.h hsm/helper_key.cpp \
	hsm/pooled_key.h hsm/pooled_key.cpp hsm/signature_buffer.h \
	hsm/token_signer.h hsm/token_signer.cpp \
	hsm/session_pool.h hsm/session_pool.cpp \
	hsm/token_decrypter.h hsm/token_decrypter.cpp smime/decrypter.h \
	hsm/refused_pins.h hsm/refused_pins.cpp \
	hsm/key_store.h hsm/key_store.cpp \
	hsm/sign_rate.h hsm/sign_rate.cpp \
	hsm/token_writer.h hsm/token_writer.cpp \
	hsm/key_import.h hsm/key_import.cpp \
	hsm/csr.h hsm/csr.cpp \
	hsm/key_generation.h hsm/key_generation.cpp

# The `ssmctl hsm list` subcommand is compiled into the test too (tools/local.mk adds it to
# ssmctl itself).
check_PROGRAMS += tests/unit/test_hsm
tests_unit_test_hsm_SOURCES = tests/unit/test_hsm.cpp tools/ssmctl_hsm.h tools/ssmctl_hsm.cpp $(UNIT_MAIN)
tests_unit_test_hsm_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a smime/cms/libssm_cms.a smime/mime/libssm_mime.a \
	base/libssm_base.a $(UNIT_LIBS)

# Decryption and key agreement (smime::Decrypter) on a token of its own: a separate process,
# because SoftHSM reads SOFTHSM2_CONF once.
check_PROGRAMS += tests/unit/test_hsm_decrypt
tests_unit_test_hsm_decrypt_SOURCES = tests/unit/test_hsm_decrypt.cpp tools/ssmctl_hsm.h \
	tools/ssmctl_hsm.cpp $(UNIT_MAIN)
tests_unit_test_hsm_decrypt_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a base/libssm_base.a \
	$(UNIT_LIBS)

# `ssmctl hsm import` / `keygen` logic (key_import, key_generation, csr) on a token of its own.
check_PROGRAMS += tests/unit/test_hsm_import
tests_unit_test_hsm_import_SOURCES = tests/unit/test_hsm_import.cpp tools/ssmctl_hsm.h \
	tools/ssmctl_hsm.cpp $(UNIT_MAIN)
tests_unit_test_hsm_import_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a base/libssm_base.a \
	$(UNIT_LIBS)
