// The restricted unpickler; see pickle.h for what it accepts.
// Long by design: one opcode state machine over one private value arena, which no piece could use alone.
// Values live in an arena owned by the Unpickler and refer to each other by raw pointer, so a
// hostile pickle that builds cycles (a list appended to itself through the memo) or very deep
// nesting can neither leak nor overflow the C++ stack when the values are destroyed; and nothing
// here walks a value recursively. Limits on the stack, the memo, the object count and the nesting
// depth bound memory and time by the size of the input.
// The opcode semantics follow CPython's Lib/pickle.py (_Unpickler); comments note where a
// state_dict reader deliberately does less.
#include "tensor/io/pickle.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "core/error.h"
#include "tensor/io/checked.h"

namespace tz::io::detail {

namespace {

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

enum class Callable : uint8_t { OrderedDict, RebuildTensorV2, RebuildParameter, StorageType };

struct Obj {
  Kind kind;
  int depth = 1;             // 1 + deepest child (containers); may under-count after later mutation
  int64_t i = 0;             // Bool/Int value; Storage/Tensor: index into the result
  double f = 0;              // Float
  Callable callable{};       // Global
  StoredDType storage_dtype{};  // Global of a storage type
  std::string s;             // Str/Bytes; Global: "module.name"
  std::vector<Obj*> items;   // Tuple/List; Dict: key0, value0, key1, value1, ...
  std::unordered_map<std::string, size_t> str_keys;  // Dict: string key -> index of the key in items
};

struct OpInfo {
  uint8_t code;
  const char* name;
};

// Every opcode of protocols 0-5, so that refusals can name what they refuse.
constexpr OpInfo kOpNames[] = {
    {'(', "MARK"},        {'.', "STOP"},          {'0', "POP"},          {'1', "POP_MARK"},
    {'2', "DUP"},         {'F', "FLOAT"},         {'I', "INT"},          {'J', "BININT"},
    {'K', "BININT1"},     {'L', "LONG"},          {'M', "BININT2"},      {'N', "NONE"},
    {'P', "PERSID"},      {'Q', "BINPERSID"},     {'R', "REDUCE"},       {'S', "STRING"},
    {'T', "BINSTRING"},   {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},    {'X', "BINUNICODE"},
    {'a', "APPEND"},      {'b', "BUILD"},         {'c', "GLOBAL"},       {'d', "DICT"},
    {'}', "EMPTY_DICT"},  {'e', "APPENDS"},       {'g', "GET"},          {'h', "BINGET"},
    {'i', "INST"},        {'j', "LONG_BINGET"},   {'l', "LIST"},         {']', "EMPTY_LIST"},
    {'o', "OBJ"},         {'p', "PUT"},           {'q', "BINPUT"},       {'r', "LONG_BINPUT"},
    {'s', "SETITEM"},     {'t', "TUPLE"},         {')', "EMPTY_TUPLE"},  {'u', "SETITEMS"},
    {'G', "BINFLOAT"},    {0x80, "PROTO"},        {0x81, "NEWOBJ"},      {0x82, "EXT1"},
    {0x83, "EXT2"},       {0x84, "EXT4"},         {0x85, "TUPLE1"},      {0x86, "TUPLE2"},
    {0x87, "TUPLE3"},     {0x88, "NEWTRUE"},      {0x89, "NEWFALSE"},    {0x8a, "LONG1"},
    {0x8b, "LONG4"},      {'B', "BINBYTES"},      {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},   {0x8f, "EMPTY_SET"},   {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},  {0x92, "NEWOBJ_EX"},    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"},      {0x96, "BYTEARRAY8"},   {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

const char* op_name(uint8_t code) {
  for (const auto& o : kOpNames)
    if (o.code == code) return o.name;
  return nullptr;
}

// "REDUCE ('R')" or "NEWOBJ (0x81)"
std::string op_str(uint8_t code) {
  const char* name = op_name(code);
  char buf[8];
  if (code >= 0x20 && code < 0x7f) std::snprintf(buf, sizeof buf, "'%c'", code);
  else std::snprintf(buf, sizeof buf, "0x%02x", code);
  return std::string(name ? name : "unknown opcode") + " (" + buf + ")";
}

// Printable excerpt of a name from the file, for error messages.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 80 ? out + "..." : out;
}

struct StorageName {
  const char* name;
  StoredDType dtype;
};
constexpr StorageName kStorageTypes[] = {
    {"FloatStorage", StoredDType::F32}, {"HalfStorage", StoredDType::F16},  {"BFloat16Storage", StoredDType::BF16},
    {"DoubleStorage", StoredDType::F64}, {"LongStorage", StoredDType::I64}, {"IntStorage", StoredDType::I32},
    {"ShortStorage", StoredDType::I16}, {"CharStorage", StoredDType::I8},   {"ByteStorage", StoredDType::U8},
    {"BoolStorage", StoredDType::BOOL},
};

constexpr const char* kAllowedGlobals =
    "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage";

constexpr int kMaxDims = 64;

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const UnpickleLimits& limits)
      : p_(data), n_(size), limits_(limits) {}

  PickledStateDict run() {
    while (true) {
      TZ_CHECK(pos_ < n_, "pickle: data ends at offset ", n_, " without a STOP opcode");
      op_pos_ = pos_;
      op_ = p_[pos_++];
      if (op_ == '.') break;
      step();
    }
    TZ_CHECK(stack_.size() == 1 && marks_.empty(), "pickle: STOP at offset ", op_pos_, " leaves ", stack_.size(),
             " values and ", marks_.size(), " marks on the stack (expected exactly one value)");
    return finish(stack_.back());
  }

 private:
  // ---- input ---------------------------------------------------------------------------------
  const uint8_t* take(uint64_t k) {
    TZ_CHECK(k <= n_ - pos_, "pickle: ", op_str(op_), " at offset ", op_pos_, " needs ", k,
             " more bytes but the data ends at offset ", n_);
    const uint8_t* at = p_ + pos_;
    pos_ += k;
    return at;
  }
  template <class T>
  T arg() {
    return read_le<T>(take(sizeof(T)));
  }
  std::string where() const { return " (" + op_str(op_) + " at offset " + std::to_string(op_pos_) + ")"; }

  // ---- values and the stack ------------------------------------------------------------------
  Obj* make(Kind k) {
    TZ_CHECK(arena_.size() < limits_.max_objects, "pickle: more than ", limits_.max_objects, " objects", where());
    arena_.push_back(std::make_unique<Obj>());
    arena_.back()->kind = k;
    return arena_.back().get();
  }
  void push(Obj* o) {
    TZ_CHECK(stack_.size() < limits_.max_stack, "pickle: stack exceeds ", limits_.max_stack, " values", where());
    stack_.push_back(o);
  }
  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  // Like CPython, values below the most recent MARK are out of reach until POP_MARK or a
  // collection opcode consumes the mark.
  Obj* pop() {
    TZ_CHECK(stack_.size() > fence(), "pickle: stack underflow", where());
    Obj* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj* top() {
    TZ_CHECK(stack_.size() > fence(), "pickle: stack underflow", where());
    return stack_.back();
  }
  std::vector<Obj*> pop_mark() {
    TZ_CHECK(!marks_.empty(), "pickle: no MARK to pop", where());
    std::vector<Obj*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void adopt(Obj* container, Obj* child) {
    container->depth = std::max(container->depth, child->depth + 1);
    TZ_CHECK(container->depth <= limits_.max_depth, "pickle: objects nest deeper than ", limits_.max_depth,
             " levels", where());
  }
  Obj* make_sequence(Kind k, std::vector<Obj*> items) {
    Obj* o = make(k);
    for (Obj* it : items) adopt(o, it);
    o->items = std::move(items);
    return o;
  }
  Obj* expect(Obj* o, Kind k, const char* what) {
    TZ_CHECK(o->kind == k, "pickle: ", what, " must be a ", kind_name(k), ", got a ", kind_name(o->kind), where());
    return o;
  }
  void dict_set(Obj* d, Obj* key, Obj* value) {
    expect(d, Kind::Dict, "the target of SETITEM(S)");
    adopt(d, key);
    adopt(d, value);
    if (key->kind == Kind::Str) {
      auto [it, fresh] = d->str_keys.emplace(key->s, d->items.size());
      if (!fresh) {  // Python dict semantics: a repeated key keeps its place and takes the new value
        d->items[it->second + 1] = value;
        return;
      }
    }
    d->items.push_back(key);
    d->items.push_back(value);
  }
  void list_append(Obj* list, Obj* v) {
    expect(list, Kind::List, "the target of APPEND(S)");
    adopt(list, v);
    list->items.push_back(v);
  }
  void memo_put(uint64_t key) {
    Obj* o = top();
    TZ_CHECK(memo_.size() < limits_.max_memo || memo_.count(key), "pickle: memo exceeds ", limits_.max_memo,
             " entries", where());
    memo_[key] = o;
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    TZ_CHECK(it != memo_.end(), "pickle: memo key ", key, " is not defined", where());
    push(it->second);
  }
  Obj* make_int(int64_t v) {
    Obj* o = make(Kind::Int);
    o->i = v;
    return o;
  }
  Obj* make_str(Kind k, uint64_t len) {
    const uint8_t* b = take(len);
    Obj* o = make(k);
    o->s.assign(reinterpret_cast<const char*>(b), len);
    return o;
  }

  // ---- the interpreter -----------------------------------------------------------------------
  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        uint8_t v = arg<uint8_t>();
        TZ_CHECK(v <= 5, "pickle: protocol ", int(v), " is not supported", where());
        return;
      }
      case 0x95: take(8); return;  // FRAME: a length prefix we do not need
      case '(':
        TZ_CHECK(static_cast<int>(marks_.size()) < limits_.max_depth, "pickle: MARKs nest deeper than ",
                 limits_.max_depth, " levels", where());
        marks_.push_back(stack_.size());
        return;
      case '0': pop(); return;
      case '1': pop_mark(); return;
      case '2': push(top()); return;
      case 'N': push(make(Kind::None)); return;
      case 0x88:
      case 0x89: {
        Obj* o = make(Kind::Bool);
        o->i = op_ == 0x88;
        push(o);
        return;
      }
      case 'J': push(make_int(arg<int32_t>())); return;
      case 'K': push(make_int(arg<uint8_t>())); return;
      case 'M': push(make_int(arg<uint16_t>())); return;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        uint8_t len = arg<uint8_t>();
        TZ_CHECK(len <= 8, "pickle: LONG1 integer of ", int(len), " bytes does not fit in 64 bits", where());
        const uint8_t* b = take(len);
        uint64_t v = 0;
        for (int k = 0; k < len; ++k) v |= static_cast<uint64_t>(b[k]) << (8 * k);
        if (len > 0 && len < 8 && (b[len - 1] & 0x80)) v |= ~uint64_t(0) << (8 * len);
        push(make_int(static_cast<int64_t>(v)));
        return;
      }
      case 'G': {  // BINFLOAT is big-endian
        uint64_t bits = 0;
        const uint8_t* b = take(8);
        for (int k = 0; k < 8; ++k) bits = bits << 8 | b[k];
        Obj* o = make(Kind::Float);
        o->f = std::bit_cast<double>(bits);
        push(o);
        return;
      }
      case 'X': push(make_str(Kind::Str, arg<uint32_t>())); return;
      case 0x8c: push(make_str(Kind::Str, arg<uint8_t>())); return;
      case 0x8d: push(make_str(Kind::Str, arg<uint64_t>())); return;
      case 'T': {
        int32_t len = arg<int32_t>();
        TZ_CHECK(len >= 0, "pickle: negative string length ", len, where());
        push(make_str(Kind::Str, static_cast<uint64_t>(len)));
        return;
      }
      case 'U': push(make_str(Kind::Str, arg<uint8_t>())); return;
      case 'B': push(make_str(Kind::Bytes, arg<uint32_t>())); return;
      case 'C': push(make_str(Kind::Bytes, arg<uint8_t>())); return;
      case 0x8e: push(make_str(Kind::Bytes, arg<uint64_t>())); return;
      case ')': push(make(Kind::Tuple)); return;
      case ']': push(make(Kind::List)); return;
      case '}': push(make(Kind::Dict)); return;
      case 't': push(make_sequence(Kind::Tuple, pop_mark())); return;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<Obj*> items(static_cast<size_t>(op_ - 0x84));
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        push(make_sequence(Kind::Tuple, std::move(items)));
        return;
      }
      case 'l': push(make_sequence(Kind::List, pop_mark())); return;
      case 'd': {
        auto items = pop_mark();
        TZ_CHECK(items.size() % 2 == 0, "pickle: DICT needs key/value pairs, got ", items.size(), " values", where());
        Obj* d = make(Kind::Dict);
        for (size_t k = 0; k < items.size(); k += 2) dict_set(d, items[k], items[k + 1]);
        push(d);
        return;
      }
      case 'a': {
        Obj* v = pop();
        list_append(top(), v);
        return;
      }
      case 'e': {
        auto items = pop_mark();
        Obj* list = top();
        for (Obj* v : items) list_append(list, v);
        return;
      }
      case 's': {
        Obj* v = pop();
        Obj* k = pop();
        dict_set(top(), k, v);
        return;
      }
      case 'u': {
        auto items = pop_mark();
        TZ_CHECK(items.size() % 2 == 0, "pickle: SETITEMS needs key/value pairs, got ", items.size(), " values",
                 where());
        Obj* d = top();
        for (size_t k = 0; k < items.size(); k += 2) dict_set(d, items[k], items[k + 1]);
        return;
      }
      case 'q': memo_put(arg<uint8_t>()); return;
      case 'r': memo_put(arg<uint32_t>()); return;
      case 0x94: memo_put(memo_.size()); return;
      case 'h': memo_get(arg<uint8_t>()); return;
      case 'j': memo_get(arg<uint32_t>()); return;
      case 'c': {
        std::string module = line(), name = line();
        push(global(module, name));
        return;
      }
      case 0x93: {
        Obj* name = expect(pop(), Kind::Str, "STACK_GLOBAL's name");
        Obj* module = expect(pop(), Kind::Str, "STACK_GLOBAL's module");
        push(global(module->s, name->s));
        return;
      }
      case 'R': {
        Obj* args = pop();
        Obj* fn = pop();
        push(reduce(fn, args));
        return;
      }
      case 'b': {
        // OrderedDict.__reduce__ hands its instance __dict__ (state_dict's `_metadata`) to BUILD.
        // A state_dict reader needs none of it, so the state is checked to be a dict and dropped.
        Obj* state = pop();
        Obj* target = top();
        TZ_CHECK(target->kind == Kind::Dict && (state->kind == Kind::Dict || state->kind == Kind::None),
                 "pickle: BUILD on a ", kind_name(target->kind), " with a ", kind_name(state->kind),
                 " state is not allowed (only an OrderedDict's attributes)", where());
        return;
      }
      case 'Q': push(persistent_load(pop())); return;
      default: break;
    }
    TZ_CHECK(op_name(op_) != nullptr, "pickle: unknown opcode 0x", hex(op_), " at offset ", op_pos_);
    TZ_CHECK(false, "pickle: opcode ", op_str(op_), " at offset ", op_pos_,
             " is not allowed (a state_dict needs only protocol-2 opcodes)");
  }

  static std::string hex(uint8_t v) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", v);
    return buf;
  }

  // A newline-terminated name as GLOBAL stores it.
  std::string line() {
    constexpr size_t kMaxName = 256;
    const size_t limit = std::min(n_, pos_ + kMaxName);
    for (size_t k = pos_; k < limit; ++k) {
      if (p_[k] == '\n') {
        std::string s(reinterpret_cast<const char*>(p_ + pos_), k - pos_);
        pos_ = k + 1;
        return s;
      }
    }
    TZ_CHECK(false, "pickle: GLOBAL at offset ", op_pos_, " has no newline-terminated name within ", kMaxName,
             " bytes");
    return {};
  }

  Obj* global(const std::string& module, const std::string& name) {
    Obj* g = make(Kind::Global);
    g->s = module + "." + name;
    if (module == "collections" && name == "OrderedDict") {
      g->callable = Callable::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      g->callable = Callable::RebuildTensorV2;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      g->callable = Callable::RebuildParameter;
    } else {
      auto it = std::find_if(std::begin(kStorageTypes), std::end(kStorageTypes),
                             [&](const StorageName& s) { return module == "torch" && name == s.name; });
      TZ_CHECK(it != std::end(kStorageTypes), "pickle: global '", printable(g->s), "' is not allowed", where(),
               "; a state_dict uses only ", kAllowedGlobals);
      g->callable = Callable::StorageType;
      g->storage_dtype = it->dtype;
    }
    return g;
  }

  Obj* reduce(Obj* fn, Obj* args) {
    TZ_CHECK(fn->kind == Kind::Global, "pickle: REDUCE calls a ", kind_name(fn->kind), ", not an allowed global",
             where());
    expect(args, Kind::Tuple, "REDUCE's arguments");
    const auto& a = args->items;
    switch (fn->callable) {
      case Callable::OrderedDict:
        TZ_CHECK(a.empty(), "pickle: collections.OrderedDict called with ", a.size(), " arguments (expected none)",
                 where());
        return make(Kind::Dict);
      case Callable::RebuildTensorV2: return rebuild_tensor(a);
      case Callable::RebuildParameter:
        // _rebuild_parameter(data, requires_grad, backward_hooks): the parameter is its data.
        TZ_CHECK(a.size() == 3, "pickle: torch._utils._rebuild_parameter takes 3 arguments, got ", a.size(), where());
        expect(a[0], Kind::Tensor, "_rebuild_parameter's data");
        expect(a[1], Kind::Bool, "_rebuild_parameter's requires_grad");
        expect(a[2], Kind::Dict, "_rebuild_parameter's backward_hooks");
        return a[0];
      case Callable::StorageType: break;
    }
    TZ_CHECK(false, "pickle: ", fn->s, " cannot be called; storages come only from persistent ids", where());
    return nullptr;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  Obj* rebuild_tensor(const std::vector<Obj*>& a) {
    TZ_CHECK(a.size() == 6 || a.size() == 7, "pickle: torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got ",
             a.size(), where());
    const Obj* storage = expect(a[0], Kind::Storage, "_rebuild_tensor_v2's storage");
    const int64_t offset = expect(a[1], Kind::Int, "_rebuild_tensor_v2's storage_offset")->i;
    const Obj* size = expect(a[2], Kind::Tuple, "_rebuild_tensor_v2's size");
    const Obj* stride = expect(a[3], Kind::Tuple, "_rebuild_tensor_v2's stride");
    expect(a[4], Kind::Bool, "_rebuild_tensor_v2's requires_grad");
    expect(a[5], Kind::Dict, "_rebuild_tensor_v2's backward_hooks");
    if (a.size() == 7)
      TZ_CHECK(a[6]->kind == Kind::Dict || a[6]->kind == Kind::None,
               "pickle: _rebuild_tensor_v2's metadata must be a dict or None, got a ", kind_name(a[6]->kind), where());
    TZ_CHECK(size->items.size() == stride->items.size(), "pickle: _rebuild_tensor_v2 has ", size->items.size(),
             " sizes but ", stride->items.size(), " strides", where());
    TZ_CHECK(size->items.size() <= kMaxDims, "pickle: tensor has ", size->items.size(), " dims (at most ", kMaxDims,
             ")", where());
    PickledTensor t;
    t.storage = static_cast<size_t>(storage->i);
    t.offset = offset;
    for (size_t d = 0; d < size->items.size(); ++d) {
      t.shape.push_back(expect(size->items[d], Kind::Int, "a size entry")->i);
      t.strides.push_back(expect(stride->items[d], Kind::Int, "a stride entry")->i);
    }
    const PickledStorage& st = out_.storages[t.storage];
    bool ok = offset >= 0;
    for (size_t d = 0; d < t.shape.size(); ++d) ok = ok && t.shape[d] >= 0 && t.strides[d] >= 0;
    TZ_CHECK(ok, "pickle: tensor view (offset ", offset, ", size ", shape_str(t.shape), ", stride ",
             shape_str(t.strides), ") has a negative entry", where());
    auto numel = checked_numel(t.shape);
    TZ_CHECK(numel.has_value(), "pickle: tensor size ", shape_str(t.shape), " has too many elements", where());
    if (*numel > 0) {
      // The furthest element the view reaches must lie inside the storage.
      std::optional<int64_t> last = offset;
      for (size_t d = 0; d < t.shape.size() && last; ++d) {
        auto step = mul_nonneg(t.shape[d] - 1, t.strides[d]);
        last = step ? add_nonneg(*last, *step) : std::nullopt;
      }
      TZ_CHECK(last && *last < st.numel, "pickle: tensor view (offset ", offset, ", size ", shape_str(t.shape),
               ", stride ", shape_str(t.strides), ") reaches past the ", st.numel, " elements of storage '", st.key,
               "'", where());
    }
    Obj* o = make(Kind::Tensor);
    o->i = static_cast<int64_t>(out_.tensors.size());
    out_.tensors.push_back(std::move(t));
    return o;
  }

  // torch.save's persistent id for a storage: ('storage', torch.<Type>Storage, key, location, numel).
  Obj* persistent_load(Obj* pid) {
    expect(pid, Kind::Tuple, "a persistent id");
    const auto& a = pid->items;
    TZ_CHECK(a.size() == 5 && a[0]->kind == Kind::Str && a[0]->s == "storage",
             "pickle: persistent id must be ('storage', type, key, location, numel)", where());
    const Obj* type = expect(a[1], Kind::Global, "the storage type");
    TZ_CHECK(type->callable == Callable::StorageType, "pickle: persistent id names ", type->s,
             ", not a storage type", where());
    const std::string& key = expect(a[2], Kind::Str, "the storage key")->s;
    expect(a[3], Kind::Str, "the storage location");
    const int64_t numel = expect(a[4], Kind::Int, "the storage numel")->i;
    const bool key_ok = !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    });
    TZ_CHECK(key_ok, "pickle: storage key '", printable(key), "' is not a plain name", where());
    TZ_CHECK(numel >= 0 && mul_nonneg(numel, static_cast<int64_t>(stored_dtype_size(type->storage_dtype))),
             "pickle: storage '", key, "' has invalid element count ", numel, where());
    auto [it, fresh] = storage_index_.emplace(key, out_.storages.size());
    if (fresh) {
      out_.storages.push_back({type->storage_dtype, key, numel});
    } else {
      const PickledStorage& s = out_.storages[it->second];
      TZ_CHECK(s.dtype == type->storage_dtype && s.numel == numel, "pickle: storage '", key,
               "' is declared again with a different type or size", where());
    }
    Obj* o = make(Kind::Storage);
    o->i = static_cast<int64_t>(it->second);
    return o;
  }

  PickledStateDict finish(const Obj* root) {
    TZ_CHECK(root->kind == Kind::Dict, "pickle: the pickled object is a ", kind_name(root->kind),
             ", expected a state_dict (a dict of tensors)");
    for (size_t k = 0; k < root->items.size(); k += 2) {
      const Obj* key = root->items[k];
      const Obj* value = root->items[k + 1];
      TZ_CHECK(key->kind == Kind::Str, "pickle: state_dict key #", k / 2, " is a ", kind_name(key->kind),
               ", expected a string");
      TZ_CHECK(value->kind == Kind::Tensor, "pickle: state_dict entry '", printable(key->s), "' is a ",
               kind_name(value->kind), ", expected a tensor");
      out_.entries.emplace_back(key->s, static_cast<size_t>(value->i));
    }
    return std::move(out_);
  }

  const uint8_t* p_;
  size_t n_;
  UnpickleLimits limits_;
  size_t pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  std::vector<std::unique_ptr<Obj>> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
  std::unordered_map<std::string, size_t> storage_index_;
  PickledStateDict out_;
};

}  // namespace

PickledStateDict unpickle_state_dict(const uint8_t* data, size_t size, const UnpickleLimits& limits) {
  return Unpickler(data, size, limits).run();
}

}  // namespace tz::io::detail
