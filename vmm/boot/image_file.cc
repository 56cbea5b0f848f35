#include "vmm/boot/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/util/error.h"

namespace kvmm {

ImageFile ImageFile::open(const std::filesystem::path& path, std::string what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for
  // a writer. Refused below like any other non-file; a regular file ignores
  // the flag, which is cleared anyway once we know what we have.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(what + " " + path.string() + " does not exist: check the path");
    if (err == EACCES) {
      throw Error("no permission to read " + what + " " + path.string() +
                  ": fix its permissions (chmod a+r)");
    }
    throw_errno("cannot open " + what + " " + path.string(), err);
  }
  return adopt(UniqueFd(fd), path, std::move(what));
}

ImageFile ImageFile::adopt(UniqueFd fd, const std::filesystem::path& path, std::string what) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throw_errno("cannot stat " + what + " " + path.string());
  if (!S_ISREG(st.st_mode)) {
    throw Error(what + " " + path.string() + " is not a regular file: give the path of the image");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) != 0 && ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0)) {
    throw_errno("cannot set the file flags of " + what + " " + path.string());
  }
  constexpr int64_t kNsPerSecond = 1'000'000'000;
  const FileIdentity identity{
      static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
      static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec * kNsPerSecond + st.st_mtim.tv_nsec,
      st.st_ctim.tv_sec * kNsPerSecond + st.st_ctim.tv_nsec};
  return ImageFile(std::move(fd), identity, path, std::move(what));
}

void ImageFile::read_exact(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + what_ + " " + path_.string());
    if (n == 0) throw Error(what_ + " " + path_.string() + " changed size while being read");
    done += static_cast<size_t>(n);
  }
}

}  // namespace kvmm
