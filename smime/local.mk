# smime/: the S/MIME operations (sign, later encrypt/decrypt/verify) over mime/ and cms/.
noinst_LIBRARIES += smime/libssm_smime.a
SSM_SOURCES_smime = \
	smime/algorithms.h smime/algorithms.cpp smime/gnutls_digest.h \
	smime/signer.h \
	smime/sign.h smime/sign.cpp \
	smime/protect.h smime/protect.cpp

# sign_message with software signers over the OpenSSL-made PKI (plus an Ed25519 signer).
check_PROGRAMS += tests/unit/test_sign
tests_unit_test_sign_SOURCES = tests/unit/test_sign.cpp tests/unit/test_cms_support.h \
	tests/unit/soft_signer.h tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_sign_LDADD = smime/libssm_smime.a smime/mime/libssm_mime.a smime/cms/libssm_cms.a \
	base/libssm_base.a $(UNIT_LIBS)
