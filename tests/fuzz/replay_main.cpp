// Runs a fuzz target over every file of a corpus directory (or the files
// given), so ctest replays the corpus on every build without libFuzzer.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int run_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return 0;
}

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    struct stat sb {};
    if (stat(argv[i], &sb) != 0) {
      std::fprintf(stderr, "no such corpus: %s\n", argv[i]);
      return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
      DIR* d = opendir(argv[i]);
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        if (run_file(std::string(argv[i]) + "/" + e->d_name) != 0) return 1;
        ++files;
      }
      closedir(d);
    } else {
      if (run_file(argv[i]) != 0) return 1;
      ++files;
    }
  }
  if (files == 0) {
    std::fprintf(stderr, "empty corpus\n");
    return 1;
  }
  std::printf("replayed %d input(s) without a crash\n", files);
  return 0;
}
