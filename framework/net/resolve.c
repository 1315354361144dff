/* Name lookup with GIO's resolver, bounded by the method's deadline and
 * cancelled by Interrupt, honouring UseIPv6 (0 v4, 1 v6, 2 v6 then v4). */
#include <netinet/in.h>
#include <string.h>

#include "net.h"

struct lookup {
	GList *result;
	GError *error;
	bool done;
	bool timed_out;
	GCancellable *cancel;
};

static void on_resolved(GObject *src, GAsyncResult *res, gpointer ud)
{
	struct lookup *l = ud;

	l->result = g_resolver_lookup_by_name_with_flags_finish(G_RESOLVER(src),
								res, &l->error);
	l->done = true;
}

static gboolean on_timeout(gpointer ud)
{
	struct lookup *l = ud;

	l->timed_out = true;
	g_cancellable_cancel(l->cancel);
	return G_SOURCE_REMOVE;
}

static void on_interrupt(GCancellable *c, gpointer ud)
{
	g_cancellable_cancel(ud);
}

static bool family_allowed(int use_ipv6, GSocketFamily f)
{
	if (use_ipv6 == 0)
		return f == G_SOCKET_FAMILY_IPV4;
	if (use_ipv6 == 1)
		return f == G_SOCKET_FAMILY_IPV6;
	return true;
}

static void add_address(GArray *out, GInetAddress *a, int port)
{
	struct spop_address sa;
	GSocketAddress *sock = g_inet_socket_address_new(a, (guint16)port);
	gssize len = g_socket_address_get_native_size(sock);

	memset(&sa, 0, sizeof(sa));
	sa.family = g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV6
			? AF_INET6
			: AF_INET;
	if (len > 0 && (size_t)len <= sizeof(sa.addr) &&
	    g_socket_address_to_native(sock, sa.addr, sizeof(sa.addr), NULL)) {
		sa.addr_len = (uint32_t)len;
		g_array_append_val(out, sa);
	}
	g_object_unref(sock);
}

static int finish(struct spop *s, const char *name, GArray *out,
		  struct spop_address **list, size_t *count)
{
	if (!out->len) {
		g_array_free(out, TRUE);
		return spi_fail(s, SPOP_ERR_NO_DATA, "%s has no %s address.",
				name,
				s->cfg.use_ipv6 == 0   ? "IPv4"
				: s->cfg.use_ipv6 == 1 ? "IPv6"
						       : "IP");
	}
	*count = out->len;
	*list = (struct spop_address *)g_array_free(out, FALSE);
	return 0;
}

int spi_resolve(struct spop *s, const char *name, int port,
		struct spop_address **list, size_t *count)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct spop_address));
	GInetAddress *literal = g_inet_address_new_from_string(name);

	if (literal) {
		if (family_allowed(s->cfg.use_ipv6,
				   g_inet_address_get_family(literal)))
			add_address(out, literal, port);
		g_object_unref(literal);
		return finish(s, name, out, list, count);
	}

	GResolverNameLookupFlags flags =
	    s->cfg.use_ipv6 == 0   ? G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY
	    : s->cfg.use_ipv6 == 1 ? G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY
				   : G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT;
	GMainContext *ctx = g_main_context_new();
	struct lookup l = {0};
	GResolver *resolver;
	GSource *timer = NULL;
	gulong handler;

	g_main_context_push_thread_default(ctx);
	resolver = g_resolver_get_default();
	l.cancel = g_cancellable_new();
	handler = g_cancellable_connect(s->cancel, G_CALLBACK(on_interrupt),
					l.cancel, NULL);
	int ms = spi_deadline_remaining_ms(s);
	if (ms >= 0) {
		timer = g_timeout_source_new((guint)ms);
		g_source_set_callback(timer, on_timeout, &l, NULL);
		g_source_attach(timer, ctx);
	}
	g_resolver_lookup_by_name_with_flags_async(resolver, name, flags,
						   l.cancel, on_resolved, &l);
	while (!l.done)
		g_main_context_iteration(ctx, TRUE);
	if (timer) {
		g_source_destroy(timer);
		g_source_unref(timer);
	}
	g_cancellable_disconnect(s->cancel, handler);
	g_object_unref(resolver);
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	g_object_unref(l.cancel);

	int rc = 0;
	if (l.error) {
		if (g_cancellable_is_cancelled(s->cancel))
			rc = spi_fail(s, SPOP_ERR_INTERRUPTED,
				      "Looking up %s was interrupted.", name);
		else if (l.timed_out)
			rc = spi_fail(s, SPOP_ERR_TIMEOUT,
				      "Looking up %s took longer than "
				      "the timeout.",
				      name);
		else if (g_error_matches(l.error, G_RESOLVER_ERROR,
					 G_RESOLVER_ERROR_TEMPORARY_FAILURE))
			rc = spi_fail(s, SPOP_ERR_HOST_NOT_FOUND_TRY_AGAIN,
				      "Looking up %s: %s", name,
				      l.error->message);
		else if (g_error_matches(l.error, G_RESOLVER_ERROR,
					 G_RESOLVER_ERROR_INTERNAL))
			rc = spi_fail(s, SPOP_ERR_NO_RECOVERY,
				      "Looking up %s: %s", name,
				      l.error->message);
		else
			rc = spi_fail(s, SPOP_ERR_HOST_NOT_FOUND,
				      "Host '%s' not found: %s", name,
				      l.error->message);
		g_error_free(l.error);
		g_array_free(out, TRUE);
		return rc;
	}
	/* With UseIPv6=2, IPv6 addresses go first, IPv4 after (fallback). */
	for (int pass = 0; pass < 2; pass++)
		for (GList *i = l.result; i; i = i->next) {
			GSocketFamily f = g_inet_address_get_family(i->data);
			bool v6 = f == G_SOCKET_FAMILY_IPV6;

			if (family_allowed(s->cfg.use_ipv6, f) &&
			    (pass == 0) == v6)
				add_address(out, i->data, port);
		}
	g_resolver_free_addresses(l.result);
	return finish(s, name, out, list, count);
}
