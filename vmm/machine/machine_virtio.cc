// virtio-mmio devices: one transport window and one interrupt each, queue
// notifications through KVM ioeventfds and interrupts through irqfds, so a
// request costs the vCPU no exit to kvmm and the I/O thread no ioctl.
#include <string>

#include "base/util/error.h"
#include "base/util/format.h"
#include "base/util/log.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/net/tap.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/virtio_mmio.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/machine/machine.h"
#include "vmm/machine/virtio_layout.h"

namespace kvmm {

size_t Machine::virtio_device_count() const {
  return config_.disks.size() + config_.nets.size();
}

void Machine::check_virtio_limits() const {
  if (virtio_device_count() > kVirtioIrqs.size()) {
    throw Error("too many virtio devices (" + std::to_string(virtio_device_count()) +
                "): kvmm gives each its own interrupt and has " +
                std::to_string(kVirtioIrqs.size()) + "; use fewer --disk/--net options");
  }
}

std::vector<VirtioMmioDevice> Machine::virtio_acpi_devices() const {
  std::vector<VirtioMmioDevice> devices;
  for (uint32_t i = 0; i < virtio_device_count(); ++i) {
    devices.push_back({virtio_mmio_base(i), static_cast<uint32_t>(kVirtioMmioSize), kVirtioIrqs[i],
                       aml::InterruptTrigger::kEdge});
  }
  return devices;
}

std::string Machine::virtio_cmdline_devices() const {
  // virtio 1.2 §4.2 leaves discovery to the platform; Linux kernels built
  // with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES take this form.
  std::string out;
  for (uint32_t i = 0; i < virtio_device_count(); ++i) {
    out += " virtio_mmio.device=" + std::to_string(kVirtioMmioSize) + "@" +
           hex(virtio_mmio_base(i).value) + ":" + std::to_string(kVirtioIrqs[i]);
  }
  return out;
}

void Machine::open_virtio_devices() {
  // Opened before the VM exists: a missing, locked or unreadable image is
  // reported like any other bad input, before anything is created in KVM.
  for (size_t i = 0; i < config_.disks.size(); ++i) {
    pending_virtio_.push_back({std::make_unique<VirtioBlock>(config_.disks[i], i),
                               "virtio-blk" + std::to_string(i)});
  }
  for (size_t i = 0; i < config_.nets.size(); ++i) {
    const NetOptions& net = config_.nets[i];
    auto tap = std::make_unique<Tap>(net.tap.empty() ? Tap::adopt(net.fd) : Tap::open(net.tap));
    auto vhost = net.vhost ? std::make_unique<VhostNet>(VhostNet::open()) : nullptr;
    pending_virtio_.push_back(
        {std::make_unique<VirtioNet>(std::move(tap),
                                     VirtioNetConfig{net.mac, net.offloads, static_cast<unsigned>(i)},
                                     std::move(vhost)),
         "virtio-net" + std::to_string(i)});
  }
}

void Machine::add_virtio_devices() {
  for (auto& [device, name] : pending_virtio_) add_virtio_device(std::move(device), name);
  pending_virtio_.clear();
}

void Machine::add_virtio_device(std::unique_ptr<VirtioDevice> device, const std::string& name) {
  const auto index = static_cast<uint32_t>(virtio_transports_.size());
  auto irq = std::make_shared<EventFd>();
  vm_->add_irqfd(irq->get(), kVirtioIrqs[index]);
  auto transport = std::make_shared<VirtioMmio>(
      std::move(device), memory_, [irq] { irq->signal(); }, name);
  const GuestAddress base = virtio_mmio_base(index);
  mmio_.insert(transport, base.value, kVirtioMmioSize, name);
  for (size_t queue = 0; queue < transport->queue_count(); ++queue) {
    vm_->add_ioeventfd(transport->notify_fd(queue),
                       KvmVm::IoEvent{KvmVm::IoSpace::kMmio, base.value + virtio_mmio::kQueueNotify,
                                      4, queue});
  }
  virtio_irqs_.push_back(std::move(irq));
  virtio_transports_.push_back(std::move(transport));
}

void Machine::stop_virtio_devices() {
  // Before guest memory goes away: each device joins its I/O thread.
  for (auto& transport : virtio_transports_) transport->shutdown();
  // What the network devices passed and dropped: a dropped frame is a guest
  // fault or host backpressure, and nothing else reports it.
  for (auto& transport : virtio_transports_) {
    if (auto* net = dynamic_cast<const VirtioNet*>(&transport->device())) log_line(net->summary());
  }
}

}  // namespace kvmm
