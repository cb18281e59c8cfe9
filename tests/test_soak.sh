#!/usr/bin/env bash
# tests/test_soak.sh - a 5-second `make soak` inside make test: the load
# phase of tests/soak/soak.sh (wrk, 64 connections, mixed and malformed
# requests, zero 5xx, RSS sampled) against the kensho-fcgi under test (the
# SAN=1 one under make test SAN=1, so LeakSanitizer checks the same traffic
# at exit).  The minute-long run and the separate LeakSanitizer phase are
# `make soak`.
exec env SOAK_SECONDS="${SOAK_MINI_SECONDS:-5}" SOAK_SAN=0 bash "$(dirname "$0")/soak/soak.sh"
