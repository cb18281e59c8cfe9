# fcgi/install.mk - make install / make uninstall (README "Deploying").
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging] [SYSCONFDIR=...]
#
# Installs the two programs, the page, an example configuration with its
# commented companion, the production nginx site, and the systemd unit with
# its sysusers.d and tmpfiles.d entries.  It never writes kensho.json (the
# operator's configuration) and never overwrites what it did not install.
# Without DESTDIR, as root on a systemd machine, it also creates the kensho
# account and /run/kensho (systemd-sysusers, systemd-tmpfiles); it does not
# enable or start anything.
#
# INSTALL_FROM: the directory of the binaries to install (default: this
# build's, built first); tests/test_install.sh passes the ones under test.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= $(PREFIX)/etc
DATADIR     ?= $(PREFIX)/share
DOCDIR      ?= $(DATADIR)/doc/kensho
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# The group nginx's workers run as (Debian: www-data; nginx.org: nginx).
NGINX_GROUP ?= www-data
INSTALL_FROM ?= $(BIN)

INSTALL_SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
                    -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
                    -e 's|@NGINX_GROUP@|$(NGINX_GROUP)|g'
INSTALL_WWW := $(wildcard www/*.html www/*.css www/*.js www/*.svg www/*.png www/*.ico www/*.woff2)

.PHONY: install uninstall
install: $(INSTALL_FROM)/kensho $(INSTALL_FROM)/kensho-fcgi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/kensho/www $(DESTDIR)$(DATADIR)/kensho/nginx \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/kensho $(DESTDIR)$(SYSCONFDIR)/kensho/anchors \
	    $(DESTDIR)$(SYSCONFDIR)/kensho/intermediates $(DESTDIR)$(SYSCONFDIR)/kensho/crls
	install -m 0755 $(INSTALL_FROM)/kensho $(INSTALL_FROM)/kensho-fcgi $(DESTDIR)$(BINDIR)/
	install -m 0644 $(INSTALL_WWW) $(DESTDIR)$(DATADIR)/kensho/www/
	install -m 0644 fcgi/kensho.example.json $(DESTDIR)$(SYSCONFDIR)/kensho/kensho.example.json
	$(INSTALL_SUBST) fcgi/kensho.example.md >$(DESTDIR)$(SYSCONFDIR)/kensho/kensho.example.md
	$(INSTALL_SUBST) nginx/kensho.conf.in >$(DESTDIR)$(DATADIR)/kensho/nginx/kensho.conf
	install -m 0644 nginx/fastcgi.params $(DESTDIR)$(DATADIR)/kensho/nginx/fastcgi.params
	$(INSTALL_SUBST) fcgi/kensho-fcgi.service.in >$(DESTDIR)$(UNITDIR)/kensho-fcgi.service
	install -m 0644 fcgi/kensho.sysusers $(DESTDIR)$(SYSUSERSDIR)/kensho.conf
	$(INSTALL_SUBST) fcgi/kensho.tmpfiles.in >$(DESTDIR)$(TMPFILESDIR)/kensho.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/kensho/kensho.example.md $(DESTDIR)$(DATADIR)/kensho/nginx/kensho.conf \
	    $(DESTDIR)$(UNITDIR)/kensho-fcgi.service $(DESTDIR)$(TMPFILESDIR)/kensho.conf
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && [ -d /run/systemd/system ]; then \
	    systemd-sysusers $(SYSUSERSDIR)/kensho.conf && systemd-tmpfiles --create $(TMPFILESDIR)/kensho.conf && \
	    systemctl daemon-reload; \
	fi
	@echo "installed; next: README.md \"Deploying\" ($(DOCDIR)/README.md)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kensho $(DESTDIR)$(BINDIR)/kensho-fcgi \
	    $(DESTDIR)$(SYSCONFDIR)/kensho/kensho.example.json $(DESTDIR)$(SYSCONFDIR)/kensho/kensho.example.md \
	    $(DESTDIR)$(UNITDIR)/kensho-fcgi.service $(DESTDIR)$(SYSUSERSDIR)/kensho.conf \
	    $(DESTDIR)$(TMPFILESDIR)/kensho.conf
	rm -rf $(DESTDIR)$(DATADIR)/kensho $(DESTDIR)$(DOCDIR)
	@echo "left in place: $(SYSCONFDIR)/kensho (your configuration), /var/lib/kensho (the audit log), the kensho account"
