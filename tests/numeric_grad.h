// Central finite differences in double precision, shared by the gradient-check tests.
#pragma once
#include <functional>
#include <vector>

namespace acts::test {

// d loss / d x[i] for every element of x (x is restored). h = 1e-6: truncation error
// ~h^2 |L'''| ~ 1e-12, rounding ~1e-16 / h ~ 1e-10.
inline std::vector<double> numeric_grad(std::vector<double>& x, const std::function<double()>& loss,
                                        double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

}  // namespace acts::test
