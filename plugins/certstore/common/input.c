/* Where a store's bytes come from: a file named by CertStore, or CertStore
 * itself as a blob (raw, or base64 as the reference allows). The bytes may
 * hold private keys, so every copy is wiped before it is freed. */
#include "certstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *name_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *name_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int fail(struct spop_host *host, bool quiet, int code, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

static int fail(struct spop_host *host, bool quiet, int code, const char *fmt,
		...)
{
	char text[1024];
	va_list ap;

	if (quiet)
		return code;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return host->set_error(host, code, "%s", text);
}

static void wipe_free(unsigned char *p, size_t len)
{
	if (p) {
		gnutls_memset(p, 0, len);
		free(p);
	}
}

int certstore_input_file(struct spop_host *host, const char *kind,
			 const unsigned char *store, size_t store_len,
			 bool quiet, struct certstore_input *in)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat stbuf;
	char *path;
	int fd, rc = 0;

	memset(in, 0, sizeof(*in));
	if (!store || store_len == 0)
		return fail(host, quiet, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s store: the store (a file name "
			    "for this store type) is empty.",
			    kind);
	if (memchr(store, '\0', store_len))
		return fail(host, quiet, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s store: the file name contains "
			    "a NUL byte.",
			    kind);
	path = strndup((const char *)store, store_len);
	if (!path)
		return fail(host, quiet, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s file: out of memory.", kind);
	in->name = name_printf("%s file '%s'", kind, path);
	if (!in->name) {
		free(path);
		return fail(host, quiet, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s file: out of memory.", kind);
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
			  "Cannot open the %s: %s.", in->name, strerror(errno));
		goto out;
	}
	if (fstat(fd, &stbuf) == 0 && S_ISDIR(stbuf.st_mode)) {
		rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
			  "Cannot open the %s: it is a directory.", in->name);
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			unsigned char *nbuf;

			if (cap > CERTSTORE_MAX_INPUT) {
				rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
					  "Cannot open the %s: it is larger "
					  "than %u bytes, too large for a key "
					  "store.",
					  in->name, CERTSTORE_MAX_INPUT);
				goto out;
			}
			/* Grown by copying, so that no realloc leaves key
			 * bytes behind unwiped. */
			nbuf = malloc(ncap);
			if (!nbuf) {
				rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
					  "Cannot read the %s: out of memory.",
					  in->name);
				goto out;
			}
			if (len)
				memcpy(nbuf, buf, len);
			wipe_free(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
				  "Cannot read the %s: %s.", in->name,
				  strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == 0) {
		rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
			  "Cannot open the %s: the file is empty.", in->name);
		goto out;
	}
	/* A NUL after the data lets text parsers stop safely; it is not
	 * counted in len. */
	if (len == cap) {
		unsigned char *nbuf = malloc(cap + 1);

		if (!nbuf) {
			rc = fail(host, quiet, SPOP_ERR_CERT_STORE,
				  "Cannot read the %s: out of memory.",
				  in->name);
			goto out;
		}
		memcpy(nbuf, buf, len);
		wipe_free(buf, cap);
		buf = nbuf;
		cap = cap + 1;
	}
	buf[len] = '\0';
	in->data = buf;
	in->len = len;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	wipe_free(buf, cap);
	free(path);
	if (rc) {
		free(in->name);
		in->name = NULL;
	}
	return rc;
}

int certstore_input_blob(struct spop_host *host, const char *kind,
			 const unsigned char *store, size_t store_len,
			 struct certstore_input *in)
{
	memset(in, 0, sizeof(*in));
	in->name = name_printf("%s blob (%zu bytes)", kind, store_len);
	if (!in->name)
		return host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s blob: out of memory.", kind);
	if (!store || store_len == 0) {
		int rc = host->set_error(host, SPOP_ERR_CERT_STORE,
					 "Cannot open the %s blob: the store "
					 "(the blob's data) is empty.",
					 kind);
		certstore_input_clear(in);
		return rc;
	}
	if (store_len > CERTSTORE_MAX_INPUT) {
		int rc = host->set_error(host, SPOP_ERR_CERT_STORE,
					 "Cannot open the %s: larger than %u "
					 "bytes, too large for a key store.",
					 in->name, CERTSTORE_MAX_INPUT);
		certstore_input_clear(in);
		return rc;
	}
	in->data = malloc(store_len + 1);
	if (!in->data) {
		int rc = host->set_error(host, SPOP_ERR_CERT_STORE,
					 "Cannot open the %s: out of memory.",
					 in->name);
		certstore_input_clear(in);
		return rc;
	}
	memcpy(in->data, store, store_len);
	in->data[store_len] = '\0';
	in->len = store_len;
	return 0;
}

bool certstore_base64_decode(struct spop_host *host, const unsigned char *text,
			     size_t len, unsigned char **out, size_t *out_len)
{
	char *compact = malloc(len + 1);
	size_t n = 0, dlen = 0;
	void *decoded;

	*out = NULL;
	*out_len = 0;
	if (!compact)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = text[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		compact[n++] = (char)c;
	}
	compact[n] = '\0';
	/* The host's decoder is strict: anything but the base64 alphabet and
	 * final padding is refused, so binary data never "decodes". */
	decoded = n ? host->base64_decode(host, compact, &dlen) : NULL;
	gnutls_memset(compact, 0, n);
	free(compact);
	if (!decoded)
		return false;
	if (dlen == 0) {
		host->free(host, decoded);
		return false;
	}
	/* Copied into our own memory, NUL-terminated like the other inputs,
	 * so that one wipe-and-free path releases it. */
	*out = malloc(dlen + 1);
	if (*out) {
		memcpy(*out, decoded, dlen);
		(*out)[dlen] = '\0';
		*out_len = dlen;
	}
	gnutls_memset(decoded, 0, dlen);
	host->free(host, decoded);
	return *out != NULL;
}

void certstore_input_clear(struct certstore_input *in)
{
	wipe_free(in->data, in->len + (in->data ? 1 : 0));
	free(in->name);
	memset(in, 0, sizeof(*in));
}

bool certstore_input_unwrap_base64(struct spop_host *host,
				   struct certstore_input *in,
				   bool (*accept)(const unsigned char *data,
						  size_t len))
{
	unsigned char *decoded;
	size_t len;

	if (!certstore_base64_decode(host, in->data, in->len, &decoded, &len))
		return false;
	if (!accept(decoded, len)) {
		wipe_free(decoded, len + 1);
		return false;
	}
	wipe_free(in->data, in->len + 1);
	in->data = decoded;
	in->len = len;
	return true;
}

bool certstore_input_copy(const unsigned char *data, size_t len,
			  struct certstore_input *in)
{
	memset(in, 0, sizeof(*in));
	if (!data || len == 0 || len > CERTSTORE_MAX_INPUT)
		return false;
	in->data = malloc(len + 1);
	if (!in->data)
		return false;
	memcpy(in->data, data, len);
	in->data[len] = '\0';
	in->len = len;
	return true;
}

int certstore_input_read(struct spop_host *host, const char *kind,
			 const char *plugin, int store_type, int file_type,
			 const unsigned char *store, size_t store_len,
			 struct certstore_input *in)
{
	if (store_type == file_type)
		return certstore_input_file(host, kind, store, store_len, false,
					    in);
	if (store_type == file_type + 1)
		return certstore_input_blob(host, kind, store, store_len, in);
	return host->set_error(host, SPOP_ERR_CERT_STORE,
			       "The %s store serves CertStoreType %d (%s file) "
			       "and %d (%s blob), not %d.",
			       plugin, file_type, kind, file_type + 1, kind,
			       store_type);
}
