#!/bin/bash -eu
# ClusterFuzzLite entry point: the project's own OSS-Fuzz build script does the work.
"$SRC/allocheck/fuzz/build.sh"
