#include "buffer_cache.hpp"

#include <new>
#include <sys/mman.h>

namespace lumen::detail {

BufferCache& BufferCache::instance() {
  // Deliberately leaked: an Array destroyed during static destruction must still find it.
  static auto* cache = new BufferCache(); // NOLINT(cppcoreguidelines-owning-memory)
  return *cache;
}

std::byte* allocate_aligned(std::size_t bytes) {
  if (bytes < kMapBytes) return static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{64}));
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<std::byte*>(p);
}

void free_aligned(std::byte* data, std::size_t bytes) noexcept {
  if (!data) return;
  if (bytes < kMapBytes)
    ::operator delete[](data, std::align_val_t{64});
  else
    (void)::munmap(data, bytes);
}

std::byte* BufferCache::take(std::size_t bytes, std::size_t& capacity) {
  if (bytes < kMinBytes) return nullptr;
  const std::lock_guard lock(mutex_);
  auto best = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->capacity >= bytes && it->capacity - bytes <= bytes / 4 &&
        (best == entries_.end() || it->capacity < best->capacity))
      best = it;
  if (best == entries_.end()) return nullptr;
  std::byte* data = best->data;
  capacity = best->capacity;
  cached_ -= capacity;
  entries_.erase(best);
  return data;
}

bool BufferCache::give(std::byte* data, std::size_t capacity) {
  if (capacity < kMinBytes || capacity > kCapacity) return false;
  std::deque<Entry> evicted;
  {
    const std::lock_guard lock(mutex_);
    ++gives_;
    while (!entries_.empty() && (cached_ + capacity > kCapacity || gives_ - entries_.front().given > kMaxAge)) {
      cached_ -= entries_.front().capacity;
      evicted.push_back(entries_.front());
      entries_.pop_front();
    }
    entries_.push_back({data, capacity, gives_});
    cached_ += capacity;
  }
  for (const Entry& e : evicted) free_aligned(e.data, e.capacity); // outside the lock
  return true;
}

} // namespace lumen::detail
