#!/bin/sh
# bench jump (second kernel): mark that user space runs; init then jumps back.
echo "bench: second kernel user space"
