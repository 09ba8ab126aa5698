#include "chunk_pipeline.hpp"

#include <algorithm>
#include <cstring>

#include "errors.hpp"
#include "h5_handle.hpp"

namespace ckpt::image {

ChunkPipeline::ChunkPipeline(Codec codec, int level, unsigned workers)
    : codec_(codec), level_(level) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  slots_.resize(2 * workers + 2);
  for (auto& slot : slots_) {
    slot.raw.resize(kChunkBytes);
    slot.encoded.reserve(max_encoded_size(codec_, kChunkBytes));
  }
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  writer_ = std::thread([this] { writer_loop(); });
}

ChunkPipeline::~ChunkPipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
  writer_.join();
}

void ChunkPipeline::begin(hid_t dataset, std::string label) {
  std::unique_lock lock(mutex_);
  // A stream abandoned after an error may still have chunks in flight.
  current_ = nullptr;
  changed_.wait(lock, [&] { return next_write_ == next_chunk_; });
  dataset_ = dataset;
  label_ = std::move(label);
  current_ = nullptr;
  next_chunk_ = 0;
  stream_bytes_ = 0;
  next_write_ = 0;
  extent_ = 0;
  records_.clear();
  error_.clear();
  stream_open_ = true;
}

void ChunkPipeline::throw_if_failed() {
  std::lock_guard lock(mutex_);
  if (!error_.empty()) throw ImageError(error_);
}

void ChunkPipeline::acquire_next_slot() {
  Slot& slot = slots_[next_chunk_ % slots_.size()];
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return slot.state == SlotState::kFree || !error_.empty(); });
  if (!error_.empty()) throw ImageError(error_);
  slot.chunk = next_chunk_;
  slot.raw_bytes = 0;
  current_ = &slot;
}

void ChunkPipeline::submit_current() {
  Slot& slot = *current_;
  current_ = nullptr;
  // Edge chunks are zero-padded: HDF5 decodes every chunk to full size.
  if (slot.raw_bytes < kChunkBytes) {
    std::memset(slot.raw.data() + slot.raw_bytes, 0, kChunkBytes - slot.raw_bytes);
  }
  {
    std::lock_guard lock(mutex_);
    slot.state = SlotState::kFilled;
    to_encode_.push_back(slot.chunk);
    ++next_chunk_;
  }
  changed_.notify_all();
}

std::byte* ChunkPipeline::reserve(std::size_t size) {
  // A full chunk is submitted on the next call, once the caller has filled
  // the space it was given.
  if (current_ != nullptr && current_->raw_bytes == kChunkBytes) submit_current();
  if (current_ == nullptr) acquire_next_slot();
  std::byte* space = current_->raw.data() + current_->raw_bytes;
  current_->raw_bytes += size;
  stream_bytes_ += size;
  return space;
}

std::span<std::byte> ChunkPipeline::open_space() {
  if (current_ != nullptr && current_->raw_bytes == kChunkBytes) submit_current();
  if (current_ == nullptr) acquire_next_slot();
  return {current_->raw.data() + current_->raw_bytes, kChunkBytes - current_->raw_bytes};
}

void ChunkPipeline::commit(std::size_t size) {
  current_->raw_bytes += size;
  stream_bytes_ += size;
}

void ChunkPipeline::append(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    if (current_ == nullptr) acquire_next_slot();
    const std::size_t take = std::min<std::size_t>(bytes.size(), kChunkBytes - current_->raw_bytes);
    std::memcpy(current_->raw.data() + current_->raw_bytes, bytes.data(), take);
    current_->raw_bytes += take;
    stream_bytes_ += take;
    bytes = bytes.subspan(take);
    if (current_->raw_bytes == kChunkBytes) submit_current();
  }
}

std::vector<ChunkRecord> ChunkPipeline::finish() {
  if (current_ != nullptr) submit_current();
  std::unique_lock lock(mutex_);
  // After a failure the writer keeps draining (without writing), so this
  // wait ends either way and the slots are free for the next stream.
  changed_.wait(lock, [&] { return next_write_ == next_chunk_; });
  stream_open_ = false;
  if (!error_.empty()) throw ImageError(error_);
  hsize_t length = stream_bytes_;
  if (H5Dset_extent(dataset_, &length) < 0) {
    throw ImageError(label_ + ": cannot set the final dataset size");
  }
  return std::move(records_);
}

void ChunkPipeline::worker_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !to_encode_.empty(); });
    if (to_encode_.empty()) return;  // stopping
    const std::uint64_t chunk = to_encode_.front();
    to_encode_.pop_front();
    Slot& slot = slots_[chunk % slots_.size()];
    lock.unlock();
    const std::span<const std::byte> raw(slot.raw.data(), kChunkBytes);
    slot.checksum = chunk_checksum(raw);
    if (codec_ != Codec::kNone) encode_chunk(codec_, level_, raw, slot.encoded);
    lock.lock();
    slot.state = SlotState::kEncoded;
    changed_.notify_all();
  }
}

void ChunkPipeline::writer_loop() {
  h5::silence_library_errors();  // error printing is per thread in thread-safe HDF5
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] {
      if (stopping_) return true;
      if (!stream_open_ || next_write_ == next_chunk_) return false;
      const Slot& slot = slots_[next_write_ % slots_.size()];
      return slot.state == SlotState::kEncoded && slot.chunk == next_write_;
    });
    if (stopping_) return;
    Slot& slot = slots_[next_write_ % slots_.size()];
    lock.unlock();
    std::string failure;
    try {
      if (error_.empty()) write_chunk(slot);
    } catch (const std::exception& error) {
      failure = error.what();
    }
    lock.lock();
    if (!failure.empty() && error_.empty()) error_ = failure;
    slot.state = SlotState::kFree;
    ++next_write_;
    changed_.notify_all();
  }
}

void ChunkPipeline::write_chunk(Slot& slot) {
  const std::uint64_t end = (slot.chunk + 1) * kChunkBytes;
  if (end > extent_) {
    hsize_t grown = std::max<std::uint64_t>(end, extent_ * 2);
    if (H5Dset_extent(dataset_, &grown) < 0) {
      throw ImageError(label_ + ": cannot grow dataset (disk full?)");
    }
    extent_ = grown;
  }
  const bool raw = codec_ == Codec::kNone;
  const std::byte* data = raw ? slot.raw.data() : slot.encoded.data();
  const std::size_t size = raw ? kChunkBytes : slot.encoded.size();
  const hsize_t offset = slot.chunk * kChunkBytes;
  if (H5Dwrite_chunk(dataset_, H5P_DEFAULT, 0, &offset, size, data) < 0) {
    throw ImageError(label_ + ": cannot write chunk " + std::to_string(slot.chunk) +
                     " (disk full?)");
  }
  records_.push_back({slot.raw_bytes, size, slot.checksum});
}

hid_t create_stream_dataset(hid_t parent, const char* name, Codec codec, int level) {
  register_hdf5_filters();
  const hsize_t initial = 0;
  const hsize_t unlimited = H5S_UNLIMITED;
  h5::Handle space(h5::check(H5Screate_simple(1, &initial, &unlimited), "cannot create dataspace"));
  h5::Handle properties(h5::check(H5Pcreate(H5P_DATASET_CREATE), "cannot create property list"));
  const hsize_t chunk = kChunkBytes;
  H5Pset_chunk(properties, 1, &chunk);
  if (codec == Codec::kLz4) {
    const unsigned block_size = kChunkBytes;
    h5::check_status(H5Pset_filter(properties, kLz4FilterId, H5Z_FLAG_MANDATORY, 1, &block_size),
                     "cannot set the lz4 filter");
  } else if (codec == Codec::kZstd) {
    const unsigned zstd_level = static_cast<unsigned>(level);
    h5::check_status(H5Pset_filter(properties, kZstdFilterId, H5Z_FLAG_MANDATORY, 1, &zstd_level),
                     "cannot set the zstd filter");
  }
  // Never write fill values: every chunk we keep is written explicitly.
  H5Pset_fill_time(properties, H5D_FILL_TIME_NEVER);
  H5Pset_alloc_time(properties, H5D_ALLOC_TIME_INCR);
  return h5::check(H5Dcreate2(parent, name, H5T_NATIVE_UINT8, space, H5P_DEFAULT, properties,
                              H5P_DEFAULT),
                   std::string("cannot create dataset ") + name);
}

}  // namespace ckpt::image
