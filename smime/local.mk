# smime/: the S/MIME operations (sign, later encrypt/decrypt/verify) over mime/ and cms/.
noinst_LIBRARIES += smime/libssm_smime.a
smime_libssm_smime_a_SOURCES = \
	smime/algorithms.h smime/algorithms.cpp \
	smime/signer.h \
	smime/sign.h smime/sign.cpp \
	smime/protect.h smime/protect.cpp
