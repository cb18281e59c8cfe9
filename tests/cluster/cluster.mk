# tests/cluster/cluster.mk - make test-cluster: two kensho-fcgi nodes, two
# memcached, nginx over both, the demo responders, wrk for CLUSTER_SECONDS
# (default 60) with a kill -9, a memcached death, two reloads, a drain and
# audit rotation on the way (tests/test_cluster.sh; make test runs it too).
.PHONY: test-cluster
test-cluster: $(BINS) build/pki/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) OUT=$(OUT) SHARED=$(abspath ../shared) \
	    CLUSTER_SECONDS=$(or $(CLUSTER_SECONDS),60) bash tests/test_cluster.sh
