#include "vmm/boot/flat_loader.h"

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/boot/image_file.h"

namespace kvmm {

uint64_t load_flat_image(const GuestMemory& memory, const std::filesystem::path& path,
                         GuestAddress load) {
  ImageFile file = ImageFile::open(path, "flat image");
  if (file.size() == 0) {
    throw Error("flat image " + path.string() +
                " is empty: give a raw binary, e.g. assembled with nasm -f bin");
  }
  auto target = memory.slice(load, file.size());
  if (!target) {
    uint64_t room = 0;
    for (const auto& region : memory.regions()) {
      if (load.value >= region.base.value && load.value - region.base.value < region.size()) {
        room = region.size() - (load.value - region.base.value);
      }
    }
    throw Error("flat image " + path.string() + " (" + std::to_string(file.size()) +
                " bytes) does not fit in guest memory at " + hex(load.value) + " (" +
                std::to_string(room) + " bytes there): raise --mem");
  }
  file.read_exact(0, *target);
  return file.size();
}

}  // namespace kvmm
