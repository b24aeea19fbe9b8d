// Import address table patching. Every loaded module's imports are compared
// by address with the functions we hook, so forwarders and API-set names are
// caught as well as plain "gdi32.dll" imports. Modules loaded later are
// patched from the LoadLibrary hooks.
#include <windows.h>

#include <psapi.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "hook.hpp"

namespace gdi_hook {

namespace {
std::vector<HookEntry> g_hooks;
std::set<HMODULE> g_patched;
HMODULE g_self = nullptr;

void patch_module(HMODULE mod) {
  auto* base = reinterpret_cast<BYTE*>(mod);
  auto* dos = reinterpret_cast<IMAGE_DOS_HEADER*>(base);
  if (dos->e_magic != IMAGE_DOS_SIGNATURE) return;
  auto* nt = reinterpret_cast<IMAGE_NT_HEADERS*>(base + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE) return;
  const IMAGE_DATA_DIRECTORY& dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
  if (dir.VirtualAddress == 0 || dir.Size == 0) return;
  for (auto* imp = reinterpret_cast<IMAGE_IMPORT_DESCRIPTOR*>(base + dir.VirtualAddress); imp->Name != 0; ++imp) {
    if (imp->FirstThunk == 0) continue;
    for (auto* thunk = reinterpret_cast<IMAGE_THUNK_DATA*>(base + imp->FirstThunk); thunk->u1.Function != 0; ++thunk) {
      void* current = reinterpret_cast<void*>(thunk->u1.Function);
      for (const HookEntry& h : g_hooks) {
        if (*h.real == nullptr || current != *h.real) continue;
        DWORD old = 0;
        if (VirtualProtect(&thunk->u1.Function, sizeof(void*), PAGE_READWRITE, &old)) {
          thunk->u1.Function = reinterpret_cast<ULONG_PTR>(h.hook);
          VirtualProtect(&thunk->u1.Function, sizeof(void*), old, &old);
        }
        break;
      }
    }
  }
}

HMODULE WINAPI hook_LoadLibraryW(LPCWSTR name);
HMODULE WINAPI hook_LoadLibraryA(LPCSTR name);
HMODULE WINAPI hook_LoadLibraryExW(LPCWSTR name, HANDLE file, DWORD flags);
HMODULE WINAPI hook_LoadLibraryExA(LPCSTR name, HANDLE file, DWORD flags);
FARPROC WINAPI hook_GetProcAddress(HMODULE mod, LPCSTR name);
decltype(&LoadLibraryW) real_LoadLibraryW;
decltype(&LoadLibraryA) real_LoadLibraryA;
decltype(&LoadLibraryExW) real_LoadLibraryExW;
decltype(&LoadLibraryExA) real_LoadLibraryExA;
decltype(&GetProcAddress) real_GetProcAddress;

HMODULE WINAPI hook_LoadLibraryW(LPCWSTR name) {
  HMODULE m = real_LoadLibraryW(name);
  if (m) patch_all_modules();
  return m;
}
HMODULE WINAPI hook_LoadLibraryA(LPCSTR name) {
  HMODULE m = real_LoadLibraryA(name);
  if (m) patch_all_modules();
  return m;
}
HMODULE WINAPI hook_LoadLibraryExW(LPCWSTR name, HANDLE file, DWORD flags) {
  HMODULE m = real_LoadLibraryExW(name, file, flags);
  if (m && !(flags & (LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE | LOAD_LIBRARY_AS_DATAFILE_EXCLUSIVE)))
    patch_all_modules();
  return m;
}
HMODULE WINAPI hook_LoadLibraryExA(LPCSTR name, HANDLE file, DWORD flags) {
  HMODULE m = real_LoadLibraryExA(name, file, flags);
  if (m && !(flags & (LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE | LOAD_LIBRARY_AS_DATAFILE_EXCLUSIVE)))
    patch_all_modules();
  return m;
}
FARPROC WINAPI hook_GetProcAddress(HMODULE mod, LPCSTR name) {
  FARPROC p = real_GetProcAddress(mod, name);
  if (p && HIWORD(reinterpret_cast<ULONG_PTR>(name)) != 0) {
    for (const HookEntry& h : g_hooks)
      if (*h.real == reinterpret_cast<void*>(p)) return reinterpret_cast<FARPROC>(h.hook);
  }
  return p;
}

HookEntry g_loader_hooks[] = {
    {"kernel32.dll", "LoadLibraryW", reinterpret_cast<void*>(hook_LoadLibraryW), reinterpret_cast<void**>(&real_LoadLibraryW)},
    {"kernel32.dll", "LoadLibraryA", reinterpret_cast<void*>(hook_LoadLibraryA), reinterpret_cast<void**>(&real_LoadLibraryA)},
    {"kernel32.dll", "LoadLibraryExW", reinterpret_cast<void*>(hook_LoadLibraryExW), reinterpret_cast<void**>(&real_LoadLibraryExW)},
    {"kernel32.dll", "LoadLibraryExA", reinterpret_cast<void*>(hook_LoadLibraryExA), reinterpret_cast<void**>(&real_LoadLibraryExA)},
    {"kernel32.dll", "GetProcAddress", reinterpret_cast<void*>(hook_GetProcAddress), reinterpret_cast<void**>(&real_GetProcAddress)},
};
bool g_loader_registered = false;
}  // namespace

void register_hooks(HookEntry* entries, size_t n) {
  if (!g_loader_registered) {
    g_loader_registered = true;
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       reinterpret_cast<LPCWSTR>(&register_hooks), &g_self);
    register_hooks(g_loader_hooks, sizeof(g_loader_hooks) / sizeof(g_loader_hooks[0]));
  }
  for (size_t i = 0; i < n; ++i) {
    HMODULE m = GetModuleHandleA(entries[i].module);  // all are dependencies of this DLL
    void* p = m ? reinterpret_cast<void*>(GetProcAddress(m, entries[i].name)) : nullptr;
    if (p || !*entries[i].real) *entries[i].real = p;  // gdi32 or usp10: keep the one found
    g_hooks.push_back(entries[i]);
  }
}

void* hooked_address_for(HMODULE module, const char* name) {
  void* real = module ? reinterpret_cast<void*>(GetProcAddress(module, name)) : nullptr;
  for (const HookEntry& h : g_hooks)
    if (real && *h.real == real) return h.hook;
  return real;
}

void patch_all_modules() {
  std::vector<HMODULE> mods(1024);
  DWORD needed = 0;
  if (!K32EnumProcessModules(GetCurrentProcess(), mods.data(), DWORD(mods.size() * sizeof(HMODULE)), &needed)) return;
  mods.resize(std::min<size_t>(mods.size(), needed / sizeof(HMODULE)));
  Lock lock;
  for (HMODULE m : mods) {
    if (m == g_self || g_patched.count(m)) continue;
    g_patched.insert(m);
    patch_module(m);
  }
}

}  // namespace gdi_hook
