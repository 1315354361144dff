/* A pemkey cert store opened on a file of the suite's data directory, as
 * the S/MIME engine suites use one for their keys. Include after the
 * suite's globals h (the host), s, pem (the pemkey ops), PEM_FILE and
 * error_text() (fixture-setup.h), and suite-data.h. */
#ifndef SPOP_TEST_PEM_STORE_H
#define SPOP_TEST_PEM_STORE_H

/* A pemkey store opened on a file of DIR, and its entries. */
struct store {
	void *handle;
	struct spop_cert_entry entries[4];
	size_t n;
};

G_GNUC_UNUSED static bool store_open(struct store *st, const char *name)
{
	char *p = path(name);
	int rc;

	memset(st, 0, sizeof(*st));
	rc = pem->open(h, PEM_FILE, (const unsigned char *)p, strlen(p), "",
		       &st->handle);
	g_free(p);
	if (rc) {
		fprintf(stderr, "\n  cannot open %s: %s\n", name, error_text());
		return false;
	}
	while (st->n < 4) {
		st->entries[st->n].size = sizeof(struct spop_cert_entry);
		if (pem->entry(h, st->handle, st->n, &st->entries[st->n]))
			break;
		st->n++;
	}
	spi_clear_error(s);
	return st->n > 0;
}

G_GNUC_UNUSED static void store_close(struct store *st)
{
	if (st->handle)
		pem->close(h, st->handle);
	st->handle = NULL;
}

#endif
