/* Pins the layout of every struct that crosses the plugin ABI (LP64). A
 * failure here means a change broke already-built plugins: add members at
 * the end and bump SPOP_PLUGIN_ABI_MINOR instead. On other data models the
 * pins do not apply and the run says so instead of passing them. */
#include "test-runner.h"
#include <stddef.h>
#include <stdio.h>

#include <spop/plugin.h>

#define PIN(type, member, off)                                                 \
	CU_ASSERT_EQUAL(offsetof(struct type, member), (size_t)(off))

static void test_versions(void)
{
	CU_ASSERT_EQUAL(SPOP_PLUGIN_ABI_MAJOR, 1);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_ABI_MINOR, 1);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_TRANSPORT, 1);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_TLS, 2);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_AUTH, 3);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_CERTSTORE, 4);
	CU_ASSERT_EQUAL(SPOP_PLUGIN_SMIME, 5);
}

static void test_descriptor(void)
{
	CU_ASSERT_EQUAL(sizeof(struct spop_plugin_descriptor), 104);
	PIN(spop_plugin_descriptor, abi_major, 0);
	PIN(spop_plugin_descriptor, abi_minor, 4);
	PIN(spop_plugin_descriptor, size, 8);
	PIN(spop_plugin_descriptor, kind, 12);
	PIN(spop_plugin_descriptor, name, 16);
	PIN(spop_plugin_descriptor, version, 24);
	PIN(spop_plugin_descriptor, description, 32);
	PIN(spop_plugin_descriptor, selectors, 40);
	PIN(spop_plugin_descriptor, n_selectors, 48);
	PIN(spop_plugin_descriptor, rank, 52);
	PIN(spop_plugin_descriptor, capabilities, 56);
	PIN(spop_plugin_descriptor, ops, 64);
	PIN(spop_plugin_descriptor, settings, 72);
	PIN(spop_plugin_descriptor, reserved, 80);
	CU_ASSERT_EQUAL(sizeof(struct spop_setting_decl), 56);
	PIN(spop_setting_decl, type, 4);
	PIN(spop_setting_decl, name, 8);
	PIN(spop_setting_decl, default_value, 16);
	PIN(spop_setting_decl, description, 24);
	PIN(spop_setting_decl, min, 32);
	PIN(spop_setting_decl, max, 40);
	PIN(spop_setting_decl, flags, 48);
}

static void test_host(void)
{
	CU_ASSERT_EQUAL(sizeof(struct spop_host), 16 + 31 * 8);
	PIN(spop_host, size, 0);
	PIN(spop_host, abi_minor, 4);
	PIN(spop_host, core, 8);
	PIN(spop_host, setting, 16);
	PIN(spop_host, setting_int, 24);
	PIN(spop_host, wait_fd, 32);
	PIN(spop_host, resolve, 40);
	PIN(spop_host, tcp_connect, 48);
	PIN(spop_host, read_some, 56);
	PIN(spop_host, write_all, 64);
	PIN(spop_host, command, 72);
	PIN(spop_host, greeting, 80);
	PIN(spop_host, has_capability, 88);
	PIN(spop_host, alloc, 96);
	PIN(spop_host, free, 104);
	PIN(spop_host, base64_encode, 112);
	PIN(spop_host, base64_decode, 120);
	PIN(spop_host, random, 128);
	PIN(spop_host, trail, 136);
	PIN(spop_host, connection_status, 144);
	PIN(spop_host, ssl_status, 152);
	PIN(spop_host, server_certificate, 160);
	PIN(spop_host, set_error, 168);
	/* 1.1 */
	PIN(spop_host, io_read, 176);
	PIN(spop_host, io_write, 184);
	PIN(spop_host, io_wait, 192);
	PIN(spop_host, capability_args, 200);
	PIN(spop_host, channel_binding, 208);
	PIN(spop_host, tls_active, 216);
	PIN(spop_host, client_certificate, 224);
	PIN(spop_host, session_cache_get, 232);
	PIN(spop_host, session_cache_put, 240);
	PIN(spop_host, key_log, 248);
	PIN(spop_host, now, 256);
	CU_ASSERT_EQUAL(sizeof(struct spop_address), 136);
	PIN(spop_address, addr_len, 4);
	PIN(spop_address, addr, 8);
	CU_ASSERT_EQUAL(sizeof(struct spop_cert_report), 80);
	PIN(spop_cert_report, der, 8);
	PIN(spop_cert_report, status, 40);
	PIN(spop_cert_report, verified, 48);
	PIN(spop_cert_report, failures, 52);
	PIN(spop_cert_report, chain_der, 56);
	PIN(spop_cert_report, chain_len, 64);
	PIN(spop_cert_report, n_chain, 72);
	CU_ASSERT_EQUAL(sizeof(struct spop_tls_credential), 48);
	PIN(spop_tls_credential, chain_der, 8);
	PIN(spop_tls_credential, chain_len, 16);
	PIN(spop_tls_credential, n_chain, 24);
	PIN(spop_tls_credential, store_ops, 32);
	PIN(spop_tls_credential, key, 40);
}

static void test_ops_tables(void)
{
	CU_ASSERT_EQUAL(sizeof(struct spop_transport_ops), 24);
	PIN(spop_transport_ops, open, 8);
	PIN(spop_transport_ops, close, 16);

	CU_ASSERT_EQUAL(sizeof(struct spop_tls_ops), 80);
	PIN(spop_tls_ops, session_new, 8);
	PIN(spop_tls_ops, handshake, 16);
	PIN(spop_tls_ops, read, 24);
	PIN(spop_tls_ops, write, 32);
	PIN(spop_tls_ops, pending, 40);
	PIN(spop_tls_ops, info, 48);
	PIN(spop_tls_ops, session_free, 56);
	PIN(spop_tls_ops, session_new_io, 64);
	PIN(spop_tls_ops, channel_binding, 72);
	CU_ASSERT_EQUAL(sizeof(struct spop_tls_info), 392);
	PIN(spop_tls_info, version, 4);
	PIN(spop_tls_info, cipher, 36);
	PIN(spop_tls_info, cipher_strength, 164);
	PIN(spop_tls_info, key_exchange, 168);
	PIN(spop_tls_info, key_exchange_strength, 232);
	PIN(spop_tls_info, peer_der, 240);
	PIN(spop_tls_info, peer_der_len, 248);
	PIN(spop_tls_info, cipher_suite, 256);
	PIN(spop_tls_info, resumed, 384);

	CU_ASSERT_EQUAL(sizeof(struct spop_auth_ops), 64);
	PIN(spop_auth_ops, sasl_name, 8);
	PIN(spop_auth_ops, login, 16);
	PIN(spop_auth_ops, sasl_start, 24);
	PIN(spop_auth_ops, sasl_step, 32);
	PIN(spop_auth_ops, sasl_done, 40);
	PIN(spop_auth_ops, sasl_finish, 48);
	PIN(spop_auth_ops, sasl_refusal, 56);

	CU_ASSERT_EQUAL(sizeof(struct spop_certstore_ops), 72);
	PIN(spop_certstore_ops, probe, 8);
	PIN(spop_certstore_ops, open, 16);
	PIN(spop_certstore_ops, entry, 24);
	PIN(spop_certstore_ops, key_sign, 32);
	PIN(spop_certstore_ops, key_decrypt, 40);
	PIN(spop_certstore_ops, key_export, 48);
	PIN(spop_certstore_ops, close, 56);
	PIN(spop_certstore_ops, key_derive, 64);
	CU_ASSERT_EQUAL(sizeof(struct spop_cert_entry), 32);
	PIN(spop_cert_entry, der, 8);
	PIN(spop_cert_entry, key, 24);

	CU_ASSERT_EQUAL(sizeof(struct spop_smime_ops), 32);
	PIN(spop_smime_ops, decrypt, 8);
	PIN(spop_smime_ops, verify, 16);
	PIN(spop_smime_ops, result_clear, 24);
	CU_ASSERT_EQUAL(sizeof(struct spop_smime_keys), 128);
	PIN(spop_smime_keys, store_ops, 8);
	PIN(spop_smime_keys, n_signer_certs, 48);
	PIN(spop_smime_keys, trust_der, 56);
	PIN(spop_smime_keys, allow_weak, 80);
	PIN(spop_smime_keys, verify_time, 88);
	PIN(spop_smime_keys, use_system_trust, 96);
	PIN(spop_smime_keys, crl_der, 104);
	PIN(spop_smime_keys, n_crl, 120);
	CU_ASSERT_EQUAL(sizeof(struct spop_smime_signer), 368);
	PIN(spop_smime_signer, trusted, 8);
	PIN(spop_smime_signer, trust_failures, 12);
	PIN(spop_smime_signer, status, 20);
	PIN(spop_smime_signer, cert_der, 280);
	PIN(spop_smime_signer, digest_algorithm, 296);
	PIN(spop_smime_signer, signing_time, 360);
	CU_ASSERT_EQUAL(sizeof(struct spop_smime_result), 216);
	PIN(spop_smime_result, content, 8);
	PIN(spop_smime_result, decrypted, 24);
	PIN(spop_smime_result, signer_der, 32);
	PIN(spop_smime_result, n_chain, 64);
	PIN(spop_smime_result, algorithm, 72);
	PIN(spop_smime_result, signers, 136);
	PIN(spop_smime_result, n_signers, 144);
	PIN(spop_smime_result, key_algorithm, 152);
}

/* A 1.0 table is shorter than today's: SPOP_OPS_HAS must see only what its
 * size covers, whatever lies past it. */
static void test_ops_has(void)
{
	struct spop_auth_ops full = {.size = sizeof(full),
				     .sasl_finish = (void *)test_ops_has};
	struct spop_auth_ops old = full;

	old.size = offsetof(struct spop_auth_ops, sasl_finish);
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_auth_ops, &full, sasl_finish));
	CU_ASSERT_FALSE(SPOP_OPS_HAS(struct spop_auth_ops, &old, sasl_finish));
	CU_ASSERT_FALSE(SPOP_OPS_HAS(struct spop_auth_ops, &full, login));
	full.size = 4;
	CU_ASSERT_FALSE(SPOP_OPS_HAS(struct spop_auth_ops, &full, sasl_name));
}

static const struct test_case abi_cases0[] = {
    {"versions and kinds", test_versions},
    {"descriptor layout", test_descriptor},
    {"host services layout", test_host},
    {"ops tables layout", test_ops_tables},
    {"optional-slot check", test_ops_has},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-abi", NULL, NULL, abi_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	if (sizeof(void *) != 8 || sizeof(long) != 8) {
		/* meson counts 77 as a skip, visible in the summary. */
		fprintf(stderr, "plugin-abi: layout pins are for LP64; this "
				"data model needs its own pins.\n");
		return 77;
	}
	return test_run(suites);
}
