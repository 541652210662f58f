module heartkserve/loadgen

go 1.22
