#include "vmm/cpu/exit_dispatch.h"

#include "base/util/format.h"
#include "vmm/cpu/run_outcome.h"

namespace kvmm {

namespace {

std::string join_elements(std::span<const uint8_t> data, size_t size, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += hex_le(data.subspan(i * size, size));
  }
  return out;
}

const char* internal_error_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    default: return "unknown internal error";
  }
}

}  // namespace

void ExitDispatcher::log(const std::string& line) {
  if (wiring_.exit_log) wiring_.exit_log->record(index_, line);
}

[[gnu::hot]] ExitDispatcher::Action ExitDispatcher::dispatch(kvm_run& run, std::span<uint8_t> run_bytes) {
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      return handle_pio(run, run_bytes);
    case KVM_EXIT_MMIO:
      return handle_mmio(run);
    case KVM_EXIT_INTR:
      return Action::kContinue;
    case KVM_EXIT_HLT:
      // Without an in-kernel irqchip nothing can wake a halted vCPU, so a
      // flat guest's hlt means "done".
      log("hlt");
      wiring_.stop->request_stop(RunOutcome{kExitOk, ""});
      return Action::kStop;
    case KVM_EXIT_SHUTDOWN:
      log("shutdown");
      return crash("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
    case KVM_EXIT_FAIL_ENTRY:
      log("fail-entry");
      return crash("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason " +
                   hex(run.fail_entry.hardware_entry_failure_reason) + ")");
    case KVM_EXIT_INTERNAL_ERROR:
      log("internal-error");
      return crash(std::string("KVM internal error: ") + internal_error_name(run.internal.suberror) +
                   " (KVM_EXIT_INTERNAL_ERROR, suberror " +
                   std::to_string(run.internal.suberror) + ")");
    default:
      log("exit-reason=" + std::to_string(run.exit_reason));
      return crash("unhandled exit reason " + std::to_string(run.exit_reason));
  }
}

[[gnu::hot]] ExitDispatcher::Action ExitDispatcher::handle_pio(kvm_run& run, std::span<uint8_t> area) {
  const size_t size = run.io.size;
  const size_t count = run.io.count;
  // KVM's own values, but checked anyway: a bad offset here would let a
  // kernel bug become a kvmm memory corruption.
  if ((size != 1 && size != 2 && size != 4) || count == 0 || run.io.data_offset > area.size() ||
      count > (area.size() - run.io.data_offset) / size) {
    return crash("KVM reported a malformed port I/O exit (size " + std::to_string(size) +
                 ", count " + std::to_string(count) + ")");
  }
  const std::span<uint8_t> data = area.subspan(run.io.data_offset, size * count);
  const bool is_out = run.io.direction == KVM_EXIT_IO_OUT;
  // `rep ins/outs` arrive as one exit with count elements, each its own access.
  for (size_t i = 0; i < count; ++i) {
    const std::span<uint8_t> element = data.subspan(i * size, size);
    if (is_out) {
      wiring_.pio->write(run.io.port, element);
    } else {
      wiring_.pio->read(run.io.port, element);
    }
  }
  if (wiring_.exit_log) {
    log(std::string(is_out ? "pio-out" : "pio-in") + " port=" + hex(run.io.port) +
        " size=" + std::to_string(size) + " count=" + std::to_string(count) +
        " data=" + join_elements(data, size, count));
  }
  return Action::kContinue;
}

[[gnu::hot]] ExitDispatcher::Action ExitDispatcher::handle_mmio(kvm_run& run) {
  const size_t len = run.mmio.len;
  if (len == 0 || len > sizeof(run.mmio.data)) {
    return crash("KVM reported a malformed MMIO exit (length " + std::to_string(len) + ")");
  }
  const std::span<uint8_t> data(run.mmio.data, len);
  if (run.mmio.is_write) {
    wiring_.mmio->write(run.mmio.phys_addr, data);
  } else {
    wiring_.mmio->read(run.mmio.phys_addr, data);
  }
  if (wiring_.exit_log) {
    log(std::string(run.mmio.is_write ? "mmio-write" : "mmio-read") +
        " addr=" + hex(run.mmio.phys_addr) + " size=" + std::to_string(len) +
        " data=" + hex_le(data));
  }
  return Action::kContinue;
}

ExitDispatcher::Action ExitDispatcher::crash(std::string what) {
  crash_message_ = "vCPU " + std::to_string(index_) + ": " + std::move(what);
  return Action::kCrash;
}

}  // namespace kvmm
