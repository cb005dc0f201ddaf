// file.cpp: POSIX open/read/write/fsync/rename, with every return value checked, because a
// short write on a full disk must not turn into a truncated checkpoint.
// Tested in tests/ops/test_io.cpp (-tc="io*").
#include "engine/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace cudistill {

namespace {

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Closes the descriptor when the scope ends, whichever way it ends.
struct Fd {
  int fd;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

}  // namespace

std::string read_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  USER_CHECK(f.fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st;
  USER_CHECK(::fstat(f.fd, &st) == 0, path, ": cannot stat: ", std::strerror(errno));
  USER_CHECK(!S_ISDIR(st.st_mode), path, ": is a directory, expected a file");
  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(size_t(st.st_size));
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    USER_CHECK(n >= 0, path, ": read error: ", std::strerror(errno));
    if (n == 0) return out;
    out.append(chunk, size_t(n));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string dir = parent_dir(path);
  struct stat st;
  USER_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "cannot write ", path,
             ": the directory ", dir, " does not exist (create it first)");
  // The pid keeps two processes writing the same target from sharing one temp file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path + ": " + what + " " + tmp + ": " + std::strerror(err), true);
  };
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (f.fd < 0) fail("cannot create");
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write error in");
      done += size_t(n);
    }
    // Without fsync a crash after the rename could leave the new name pointing at empty blocks.
    if (::fsync(f.fd) != 0) fail("fsync failed on");
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) fail("close failed on");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename into place from");
  // Persist the rename itself; best effort, as some filesystems refuse fsync on a directory.
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) (void)::fsync(d.fd);
}

}  // namespace cudistill
