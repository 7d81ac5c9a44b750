// Reading files that a user named or a folder held, without trusting their type: a FIFO named
// x.jpg (or last.safetensors) blocks open() for ever when nothing writes to it, and /dev/zero
// never ends. Files are opened non-blocking and checked with fstat before anything is read.
#pragma once
#include <string>

namespace acts {

// "a FIFO", "a character device", ... for what `path` is when it is not a regular file or a
// folder; "" when it is one of those, or does not exist.
std::string special_file_kind(const std::string& path);

// The whole of a regular file. Returns false with `why` ("is a FIFO, not a regular file",
// "is a folder, not a file", "cannot open (No such file or directory)", "empty file" is not an
// error) when it cannot be read; never blocks on a FIFO or reads a device.
bool read_regular_file(const std::string& path, std::string& out, std::string& why);

}  // namespace acts
