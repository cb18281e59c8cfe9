# verify/pdf.mk - signed PDFs (PAdES) for the verify library: qpdf's C API
# (libqpdf-dev) parses, zlib's inflate is counted (pdf_inflate.c), poppler's pdfsig (poppler-utils) is the independent
# check of the good fixtures in tests/test_pdf.c.
LIB_SRC  += verify/pdf.c verify/pdf_diff.c verify/pdf_inflate.c
HDRS     += verify/pdf_int.h
PKGS     += libqpdf zlib
TEST_SRC += tests/test_pdf.c
# pdf_inflate.c raises std::bad_alloc into libqpdf from an interposed
# Pl_Buffer::write: the unwinder must be able to cross its frames.
$(OUT)/verify/pdf_inflate.o: CFLAGS += -fexceptions

# PDF fixtures are written by tests/pki/mkpdf.py and signed with the
# openssl CLI from the test PKI, after it.
PDF_PKI := build/pki
$(PDF_PKI)/pdf/.done: $(PDF_PKI)/.done tests/pki/mkpdf.sh tests/pki/mkpdf.py
	bash tests/pki/mkpdf.sh $(PDF_PKI)
	@touch $@
test: $(PDF_PKI)/pdf/.done
