# milter/: the daemon: configuration, libmilter callbacks, per-message processing.
noinst_LIBRARIES += milter/libssm_milter.a
SSM_SOURCES_milter = \
	milter/config_table.h milter/config_table.cpp \
	milter/config.h milter/config.cpp \
	milter/config_loader.h milter/config_directory.cpp \
	milter/config_rules.h milter/config_rules.cpp \
	milter/config_reinjection.cpp milter/config_labels.cpp milter/config_mail_list.cpp \
	milter/mail_list.h milter/mail_list.cpp milter/list_members.h milter/list_members.cpp \
	milter/list_envelopes.h milter/list_envelopes.cpp \
	milter/network.h milter/network.cpp \
	milter/reply.h milter/reply.cpp \
	milter/auth_results.h milter/auth_results.cpp \
	milter/key_source.h milter/key_source.cpp milter/certificate_expiry.h milter/certificate_expiry.cpp \
	milter/certificates.h milter/certificates.cpp \
	milter/message_processor.h milter/message_processor.cpp \
	milter/message_planning.cpp milter/message_split.cpp milter/message_blind.cpp \
	milter/inbound.h milter/inbound.cpp milter/inbound_layers.h milter/inbound_layers.cpp \
	milter/decryption_scope.h milter/decryption_scope.cpp milter/own_keys.h milter/own_keys.cpp \
	milter/decrypted_mark.h milter/decrypted_mark.cpp \
	milter/undecryptable.h milter/undecryptable.cpp \
	milter/security_labels.h milter/security_labels.cpp \
	milter/privileges.h milter/privileges.cpp \
	milter/host_checks.h milter/host_checks.cpp \
	milter/message_writer.h milter/message_writer.cpp \
	milter/daemon.h milter/in_flight.h milter/in_flight.cpp milter/callbacks.cpp \
	milter/reload.h milter/reload.cpp milter/config_warnings.h milter/config_warnings.cpp \
	milter/service_notify.h milter/service_notify.cpp milter/listener_wake.h milter/listener_wake.cpp \
	milter/reinjection.h milter/reinjection.cpp milter/reinjection_replay.h milter/reinjection_replay.cpp milter/made_copies.h milter/made_copies.cpp milter/smtp_client.h milter/smtp_client.cpp \
	milter/return_notice.h milter/return_notice.cpp \
	milter/metrics_http.h milter/metrics_http.cpp

sbin_PROGRAMS += ssm-milter
ssm_milter_SOURCES = milter/main.cpp milter/sighup.cpp
ssm_milter_LDADD = $(SSM_CORE_LIBS) $(SSM_EXTERNAL_LIBS)

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.cpp $(UNIT_MAIN)
tests_unit_test_config_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_milter
tests_unit_test_milter_SOURCES = tests/unit/test_milter.cpp $(UNIT_MAIN)
tests_unit_test_milter_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# [pki] revocation_time_budget: one per SMTP transaction, against a stalling responder.
check_PROGRAMS += tests/unit/test_processor_revocation
tests_unit_test_processor_revocation_SOURCES = tests/unit/test_processor_revocation.cpp \
	tests/unit/test_processor_support.h tests/unit/test_revocation_support.h $(UNIT_MAIN)
tests_unit_test_processor_revocation_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_undecryptable
tests_unit_test_undecryptable_SOURCES = tests/unit/test_undecryptable.cpp $(UNIT_MAIN)
tests_unit_test_undecryptable_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_sender_check
tests_unit_test_sender_check_SOURCES = tests/unit/test_sender_check.cpp $(UNIT_MAIN)
tests_unit_test_sender_check_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_auth_results
tests_unit_test_auth_results_SOURCES = tests/unit/test_auth_results.cpp $(UNIT_MAIN)
tests_unit_test_auth_results_LDADD = milter/libssm_milter.a smime/mime/libssm_mime.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_reinjection
tests_unit_test_reinjection_SOURCES = tests/unit/test_reinjection.cpp tests/unit/test_revocation_support.h $(UNIT_MAIN)
tests_unit_test_reinjection_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
# The listener that refuses one recipient or one final dot (smtp-sink cannot single one out).
EXTRA_DIST += tests/unit/smtp_listener.py

check_PROGRAMS += tests/unit/test_key_source
tests_unit_test_key_source_SOURCES = tests/unit/test_key_source.cpp $(UNIT_MAIN)
tests_unit_test_key_source_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_reload
tests_unit_test_reload_SOURCES = tests/unit/test_reload.cpp $(UNIT_MAIN)
tests_unit_test_reload_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_inbound_layers
tests_unit_test_inbound_layers_SOURCES = tests/unit/test_inbound_layers.cpp $(UNIT_MAIN)
tests_unit_test_inbound_layers_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# Signed receipts (PRODUCT §4.2): requests we sign in, receipts that come back.
SSM_SOURCES_milter += milter/receipts.h milter/receipts.cpp
# Clearances in recipients' own certificates on the token ([labels] clearance_from_certificate).
SSM_SOURCES_milter += milter/certificate_clearances.h milter/certificate_clearances.cpp
SSM_SOURCES_milter += milter/receipt_answer.h milter/receipt_answer.cpp
# Mail lists with members from a directory group (members_group): settings and the union.
check_PROGRAMS += tests/unit/test_list_members
tests_unit_test_list_members_SOURCES = tests/unit/test_list_members.cpp $(UNIT_MAIN)
tests_unit_test_list_members_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_decryption_scope
tests_unit_test_decryption_scope_SOURCES = tests/unit/test_decryption_scope.cpp \
	tests/unit/test_cms_decrypt_support.h tests/unit/test_cms_decrypt_support.cpp $(UNIT_MAIN)
tests_unit_test_decryption_scope_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# The decrypted-mail mark and the notice check (milter/decrypted_mark.h).
check_PROGRAMS += tests/unit/test_decrypted_mark
tests_unit_test_decrypted_mark_SOURCES = tests/unit/test_decrypted_mark.cpp $(UNIT_MAIN)
tests_unit_test_decrypted_mark_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
