// gRPC, protobuf and abseil come from Debian, built without TSan: their
// synchronization is invisible to it, so it reports races inside them (and in
// grpc++'s inline code compiled into our binaries) that are not there. Every
// binary that uses gRPC links keel::grpc_tsan, which in TSan builds hands
// these suppressions to the runtime. Races in Keel's own code are still
// reported unless a gRPC frame is on one of the two stacks (our callbacks run
// on gRPC's threads, so a race between such a callback and a Keel thread is
// hidden: keep those hand-offs few and behind a mutex or a posted handler).
//
// One libstdc++ entry, here because a binary has one suppressions list:
// GCC 12's std::atomic<std::shared_ptr>::load() releases its internal lock
// bit with memory_order_relaxed, so TSan cannot order a load's read of the
// stored pointer before the next store's write (the lock bit does order
// them) and reports a race inside bits/shared_ptr_atomic.h. The rate limiter's rules
// and overrides snapshot is one (a reload or an admin write while deciding).
// Non-gRPC binaries that need it link keel::grpc_tsan too.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libgrpc++.so\n"
         "race:grpc_core::\n"
         "race:grpc::\n"
         "race:grpc_\n"
         "race:gpr_\n"
         "race:libgrpc.so\n"
         "race:libgrpc++.so\n"
         "race:libgpr.so\n"
         "race:libabsl\n"
         "race:google::protobuf::\n"
         "race:bits/shared_ptr_atomic.h\n";
}
#endif
