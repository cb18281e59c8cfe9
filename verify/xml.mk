# verify/xml.mk - XML Signature (e-Tax, e-Gov) for the verify library:
# libxmlsec1 (OpenSSL backend) over libxml2, libzip for e-Gov ZIP packages,
# libunistring for the Unicode NFC of attachment names (it has no
# pkg-config file: linked through LIBS).
LIB_SRC  += verify/xml.c verify/xml_zip.c verify/xml_xades.c verify/xml_digest.c
HDRS     += verify/xml_int.h
PKGS     += xmlsec1-openssl libxml-2.0 libzip
LIBS     += -lunistring
TEST_SRC += tests/test_xml.c tests/test_xades.c

# XML fixtures are signed with the xmlsec1 CLI from the test PKI, after it.
XML_PKI := build/pki
$(XML_PKI)/xml/.done: $(XML_PKI)/.done tests/pki/mkxml.sh
	bash tests/pki/mkxml.sh $(XML_PKI)
	@touch $@
test: $(XML_PKI)/xml/.done
