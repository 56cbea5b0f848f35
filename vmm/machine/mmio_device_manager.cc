#include "vmm/machine/mmio_device_manager.h"

#include <string>

#include "base/util/error.h"
#include "base/util/format.h"
#include "base/util/log.h"

namespace kvmm {

MmioDeviceManager::MmioDeviceManager(size_t count) : count_(count) {
  if (count > kVirtioIrqs.size()) {
    throw Error("too many virtio devices (" + std::to_string(count) +
                "): kvmm gives each its own interrupt and has " +
                std::to_string(kVirtioIrqs.size()) + "; use fewer --disk/--net options");
  }
}

MmioDeviceManager::Slot MmioDeviceManager::slot(size_t index) {
  return Slot{GuestAddress{kVirtioMmioBase.value + index * kVirtioMmioStride},
              kVirtioIrqs.at(index)};
}

std::vector<VirtioMmioDevice> MmioDeviceManager::acpi_devices() const {
  std::vector<VirtioMmioDevice> devices;
  for (size_t i = 0; i < count_; ++i) {
    devices.push_back({slot(i).base, static_cast<uint32_t>(kVirtioMmioSize), slot(i).irq,
                       aml::InterruptTrigger::kEdge});
  }
  return devices;
}

void MmioDeviceManager::add_cmdline_devices(KernelCmdline& cmdline) const {
  // virtio 1.2 §4.2 leaves discovery to the platform; Linux kernels built
  // with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES take this form.
  for (size_t i = 0; i < count_; ++i) {
    cmdline.add("virtio_mmio.device=" + std::to_string(kVirtioMmioSize) + "@" +
                hex(slot(i).base.value) + ":" + std::to_string(slot(i).irq));
  }
}

VirtioMmioDevices MmioDeviceManager::create_transports(
    const GuestMemory& memory, Bus& mmio, std::vector<VirtioDeviceEntry> devices) const {
  if (devices.size() != count_) {
    throw Error("kvmm opened " + std::to_string(devices.size()) + " virtio devices for " +
                std::to_string(count_) + " slots: this is a kvmm bug");
  }
  VirtioMmioDevices placed;
  for (size_t i = 0; i < devices.size(); ++i) {
    VirtioDeviceEntry& entry = devices[i];
    auto irq = std::make_shared<EventFd>();
    auto transport = std::make_shared<VirtioMmio>(
        std::move(entry.device), memory, [irq] { irq->signal(); }, entry.name);
    mmio.insert(transport, slot(i).base.value, kVirtioMmioSize, entry.name);
    placed.devices_.push_back(
        {std::move(transport), std::move(irq), slot(i), std::move(entry.exit_summary)});
  }
  return placed;
}

void VirtioMmioDevices::register_eventfds(KvmVm& vm) const {
  for (const Placed& device : devices_) {
    vm.add_irqfd(device.irq->get(), device.slot.irq);
    for (size_t queue = 0; queue < device.transport->queue_count(); ++queue) {
      vm.add_ioeventfd(device.transport->notify_fd(queue),
                       KvmVm::IoEvent{KvmVm::IoSpace::kMmio,
                                      device.slot.base.value + virtio_mmio::kQueueNotify, 4, queue});
    }
  }
}

void VirtioMmioDevices::pause_all() {
  for (Placed& device : devices_) device.transport->pause();
}

void VirtioMmioDevices::resume_all() {
  for (Placed& device : devices_) device.transport->resume();
}

void VirtioMmioDevices::shutdown() {
  // Before guest memory goes away: each device joins its I/O thread.
  for (Placed& device : devices_) device.transport->shutdown();
  // What the network devices passed and dropped: a dropped frame is a guest
  // fault or host backpressure, and nothing else reports it.
  for (const Placed& device : devices_) {
    if (device.exit_summary) log_line(device.exit_summary());
  }
}

}  // namespace kvmm
