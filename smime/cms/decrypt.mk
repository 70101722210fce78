# smime/cms/ EnvelopedData/AuthEnvelopedData decryption (see decrypt.h) and CompressedData
# inflation (decompress.h).
SSM_SOURCES_smime_cms += \
	smime/cms/decrypt_stream.h smime/cms/decrypt_stream.cpp \
	smime/cms/decrypt_content.h smime/cms/decrypt_content.cpp \
	smime/cms/decrypt_key.h smime/cms/decrypt_key.cpp \
	smime/cms/decrypt.h smime/cms/decrypt.cpp \
	smime/cms/decompress.h smime/cms/decompress.cpp \
	smime/cms/der_oids.h

# Software keys (nettle/GMP over the fixture PKI) and messages made by openssl cms.
check_PROGRAMS += tests/unit/test_cms_decrypt
tests_unit_test_cms_decrypt_SOURCES = tests/unit/test_cms_decrypt.cpp \
	tests/unit/test_cms_decrypt_failures.cpp tests/unit/test_cms_decrypt_bouncycastle.cpp \
	tests/unit/test_cms_decrypt_gopkcs7.cpp tests/unit/test_cms_decompress.cpp \
	tests/unit/test_cms_chacha.cpp \
	tests/unit/test_cms_decrypt_support.h \
	tests/unit/test_cms_decrypt_support.cpp $(UNIT_MAIN)
tests_unit_test_cms_decrypt_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)

# The same messages opened with keys in a SoftHSM token (hsm::KeyStore::decrypters()): a
# process of its own, because SoftHSM reads SOFTHSM2_CONF once.
check_PROGRAMS += tests/unit/test_cms_decrypt_token
tests_unit_test_cms_decrypt_token_SOURCES = tests/unit/test_cms_decrypt_token.cpp \
	tests/unit/test_cms_decrypt_support.h tests/unit/test_cms_decrypt_support.cpp $(UNIT_MAIN)
tests_unit_test_cms_decrypt_token_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a \
	smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)
