#include "base/util/shared_library.h"

#include <dlfcn.h>

namespace kvmm {

SharedLibrary::SharedLibrary(const std::string& path, const std::string& hint)
    : path_(path), hint_(hint), handle_(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    throw Error("cannot load " + path + " (" + (why != nullptr ? why : "unknown reason") +
                "): " + hint);
  }
}

void* SharedLibrary::raw_symbol(const char* name) const {
  ::dlerror();
  void* address = ::dlsym(handle_, name);
  if (address == nullptr) {
    throw Error(path_ + " has no symbol " + name + ", so it is not the library kvmm was built "
                "for: " + hint_);
  }
  return address;
}

}  // namespace kvmm
