#pragma once
// A shared library opened at run time (dlopen), for what kvmm needs only
// in some runs: loading it at exec would cost every VM its dynamic linking
// and resident pages (kvmm-http.so, app/api/http_module.h; libslirp, for
// --net user). Opened once and never closed: its code may run until exit.
#include <string>

#include "base/util/error.h"

namespace kvmm {

class SharedLibrary {
 public:
  // Throws Error: "cannot load PATH (dlerror's reason): HINT".
  SharedLibrary(const std::string& path, const std::string& hint);

  // The address of `name`, cast to T (a function pointer type); throws
  // Error naming the library, the symbol and the hint when it is missing.
  template <typename T>
  T symbol(const char* name) const {
    return reinterpret_cast<T>(raw_symbol(name));
  }

  const std::string& path() const { return path_; }

 private:
  void* raw_symbol(const char* name) const;

  std::string path_;
  std::string hint_;
  void* handle_ = nullptr;
};

}  // namespace kvmm
