// One OpenBLAS or LAPACK call of the tessera_blas addon (blas.cc defines it): while it lives it
// counts as in flight and has set OpenBLAS's thread count by the addon's policy.
#pragma once

namespace tessera {

class BlasCall {
 public:
  BlasCall();
  ~BlasCall();
  BlasCall(const BlasCall &) = delete;
  BlasCall &operator=(const BlasCall &) = delete;
};

}  // namespace tessera
