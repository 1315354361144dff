/* C API for suites that need a Kerberos KDC: starts and stops the private
 * MIT KDC of krb5-harness.sh (its own realm, user and service principals,
 * keytab and credential cache under one directory) and drives kinit and
 * kadmin.local on it. Named harness-krb5.h so that -I tests/harness never
 * hides MIT's <krb5.h>. */
#ifndef SPOP_TEST_HARNESS_KRB5_H
#define SPOP_TEST_HARNESS_KRB5_H

#define HARNESS_KRB5_REALM "SPOP.TEST"

struct harness_krb5 {
	char dir[4096];	   /* absolute; krb5.conf, pop.keytab, ccache, ... */
	char config[4200]; /* dir/krb5.conf (KRB5_CONFIG) */
	char keytab[4200]; /* dir/pop.keytab: pop/localhost, pop/127.0.0.1 */
	char ccache[4200]; /* FILE:dir/ccache, the user's ticket */
	int port;	   /* the KDC on 127.0.0.1; 0 when not running */
};

/* NULL if a private KDC can run here, else why not (a tool missing). */
const char *harness_krb5_unavailable(void);

/* Starts a KDC under dir (created; a relative dir is taken below
 * HARNESS_WORK_DIR/krb5) for the realm HARNESS_KRB5_REALM with the user
 * HARNESS_MAIN_USER (password HARNESS_MAIN_PASSWORD) and kinits that user
 * into k->ccache. Returns 0, or -1 after printing why. An instance still
 * running at exit() is stopped then. */
int harness_krb5_start(struct harness_krb5 *k, const char *dir);

/* Points this process (KRB5_CONFIG, KRB5CCNAME) and the Dovecot harness
 * started after it (HARNESS_KRB5_CONFIG, HARNESS_KRB5_KEYTAB: Dovecot
 * offers GSSAPI) at k. Never /etc/krb5.conf or the caller's ticket. */
void harness_krb5_use(const struct harness_krb5 *k);

/* A fresh ticket for the user in the cache file path (replaced). */
int harness_krb5_kinit(struct harness_krb5 *k, const char *path);

/* Runs kadmin.local -q query on the KDC's database; 0 or -1. */
int harness_krb5_kadmin(struct harness_krb5 *k, const char *query);

/* Stops the KDC; stopping a stopped one succeeds. 0 or -1. */
int harness_krb5_stop(struct harness_krb5 *k);

#endif
