# base/: types and services every layer may use (bytes, errors, streams, spool, logging).
noinst_LIBRARIES += base/libssm_base.a
SSM_SOURCES_base = \
	base/ascii.h base/c_free.h base/joined.h base/unique_fd.h base/bytes.h base/bytes.cpp base/gnutls_datum.h base/gnutls_handles.h \
	base/error.h base/error.cpp \
	base/stream.h base/stream.cpp \
	base/spool.h base/spool.cpp \
	base/email_address.h base/email_address.cpp \
	base/certificate_mailboxes.h base/certificate_mailboxes.cpp \
	base/mailbox_list.h base/mailbox_list.cpp \
	base/log.h base/log.cpp \
	base/utc_time.h base/utc_time.cpp \
	base/utf8.h base/utf8.cpp \
	base/secure_buffer.h base/secure_buffer.cpp \
	base/sha256.h base/sha256.cpp \
	base/bounded_file.h base/bounded_file.cpp \
	base/repeat_filter.h base/repeat_filter.cpp \
	base/nettle_ecc.h base/nettle_ecc.cpp \
	base/der_tlv.h base/der_tlv.cpp base/certificate_key.h base/certificate_key.cpp \
	base/mpz.h base/rsa_pss.h base/rsa_pss.cpp base/rsa_pss_params.h base/rsa_pss_params.cpp \
	base/metrics.h base/metrics.cpp \
	base/name_compare.h base/name_compare.cpp base/certificate_issuer.h base/certificate_issuer.cpp
