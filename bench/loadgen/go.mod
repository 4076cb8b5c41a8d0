module jobsink.local/bench/loadgen

go 1.22
