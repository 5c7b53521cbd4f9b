#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/core/printable.hpp"

namespace lorahub::io {

/// A storage a tensor views: torch's persistent id ('storage', torch.<Type>Storage, key,
/// location, numel); `type` is the storage class name ("FloatStorage", ...).
struct pickled_storage {
    std::string type, key, location;
    std::int64_t numel = 0;
};

/// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...): a strided view, in
/// elements of the storage.
struct pickled_tensor {
    pickled_storage storage;
    std::int64_t offset = 0;
    std::vector<std::int64_t> shape, stride;
};

struct pickle_value;
using pickle_sequence = std::vector<pickle_value>;
using pickle_pairs = std::vector<std::pair<pickle_value, pickle_value>>;

/// An allow-listed global (only the allow-listed ones are ever created).
struct pickled_global {
    std::string module, name;
};

/// A list's or dict's shared contents. A container is frozen once it is put inside another
/// one, so nesting depths stay exact and no cycle can form (torch never mutates after nesting).
template <class Items>
struct pickle_container {
    Items items;
    std::size_t depth = 1;
    bool nested = false;
};

/// What a state-dict pickle can hold. Lists and dicts are shared (the memo and SETITEMS
/// work on the same object); tuples are shared too so that memo copies are cheap.
struct pickle_value {
    struct none {};
    struct tuple {
        std::shared_ptr<const pickle_sequence> items;
        std::size_t depth = 1;
    };
    struct list {
        std::shared_ptr<pickle_container<pickle_sequence>> node;
    };
    struct dict {
        std::shared_ptr<pickle_container<pickle_pairs>> node;
    };
    std::variant<none, bool, std::int64_t, double, std::string, tuple, list, dict, pickled_global, pickled_storage, pickled_tensor> value;

    /// Nesting depth (1 for a scalar), bounded so that nothing recurses deeply.
    std::size_t depth() const {
        if (const auto* t = std::get_if<tuple>(&value)) return t->depth;
        if (const auto* l = std::get_if<list>(&value)) return l->node->depth;
        if (const auto* d = std::get_if<dict>(&value)) return d->node->depth;
        return 1;
    }
    /// Marks a list or dict as inside another container: from now on it cannot change.
    void freeze() const {
        if (const auto* l = std::get_if<list>(&value)) l->node->nested = true;
        if (const auto* d = std::get_if<dict>(&value)) d->node->nested = true;
    }
};

/// Limits of the restricted unpickler; a file past any of them is an error.
struct pickle_limits {
    std::size_t max_depth = 64;           ///< nesting of tuples, lists and dicts
    std::size_t max_memo = 1 << 20;       ///< memo entries
    std::size_t max_stack = 1 << 20;      ///< values on the stack, marks included
    std::size_t max_items = 1 << 24;      ///< items added to containers, in total
};

/// A restricted unpickler for torch state dicts (pickle protocols 2 to 5): only the opcodes
/// a state dict needs, and only these globals: collections.OrderedDict,
/// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the torch.<Type>Storage
/// classes. Nothing is ever called: REDUCE of an allowed global builds its result directly.
/// Anything else (another global such as os.system, an unknown opcode, a persistent id that
/// is not a storage) is an error naming it, raised when it is read.
class restricted_unpickler {
public:
    restricted_unpickler(std::span<const std::byte> bytes, std::string subject, pickle_limits limits = {})
        : bytes_(bytes), subject_(std::move(subject)), limits_(limits) {}

    pickle_value load() {
        while (true) {
            const std::size_t at = position_;
            const auto opcode = static_cast<unsigned char>(next_byte());
            switch (opcode) {
                case 0x80: next_byte(); break;                          // PROTO
                case 0x95: take(8); break;                              // FRAME: framing only
                case '.': {                                             // STOP
                    if (stack_.size() != 1 || !marks_.empty()) fail(at, "STOP with " + std::to_string(stack_.size()) + " values on the stack");
                    if (position_ != bytes_.size())
                        fail(at, std::to_string(bytes_.size() - position_) + " bytes follow STOP (a ZIP entry of the wrong size?)");
                    return std::move(stack_.back());
                }
                case 'c': {                                             // GLOBAL module\nname\n
                    auto module = read_line();
                    auto name = read_line();
                    push(make_global(at, std::move(module), std::move(name)));
                    break;
                }
                case 0x93: {                                            // STACK_GLOBAL
                    auto name = pop_string(at, "STACK_GLOBAL name");
                    auto module = pop_string(at, "STACK_GLOBAL module");
                    push(make_global(at, std::move(module), std::move(name)));
                    break;
                }
                case '}': push(empty_dict()); break;                                                          // EMPTY_DICT
                case ']': push({pickle_value::list{std::make_shared<pickle_container<pickle_sequence>>()}}); break;  // EMPTY_LIST
                case ')': push({pickle_value::tuple{std::make_shared<const pickle_sequence>(), 1}}); break;         // EMPTY_TUPLE
                case '(':                                                                           // MARK
                    if (marks_.size() >= limits_.max_stack) fail(at, "too many marks");
                    marks_.push_back(stack_.size());
                    break;
                case 't': push(make_tuple(at, pop_to_mark(at))); break;  // TUPLE
                case 0x85: push(make_tuple(at, pop_n(at, 1))); break;    // TUPLE1
                case 0x86: push(make_tuple(at, pop_n(at, 2))); break;    // TUPLE2
                case 0x87: push(make_tuple(at, pop_n(at, 3))); break;    // TUPLE3
                case 'N': push({pickle_value::none{}}); break;
                case 0x88: push({true}); break;                          // NEWTRUE
                case 0x89: push({false}); break;                         // NEWFALSE
                case 'J': push({static_cast<std::int64_t>(read_le<std::int32_t>())}); break;   // BININT
                case 'K': push({static_cast<std::int64_t>(read_le<std::uint8_t>())}); break;   // BININT1
                case 'M': push({static_cast<std::int64_t>(read_le<std::uint16_t>())}); break;  // BININT2
                case 0x8a: push({read_long1(at)}); break;                                        // LONG1
                case 'G': {                                                                      // BINFLOAT (big-endian)
                    std::uint64_t bits = 0;
                    for (const auto b : take(8)) bits = (bits << 8) | static_cast<std::uint8_t>(b);
                    double value = 0;
                    std::memcpy(&value, &bits, 8);
                    push({value});
                    break;
                }
                case 'X': push({read_string(read_le<std::uint32_t>())}); break;   // BINUNICODE
                case 0x8c: push({read_string(read_le<std::uint8_t>())}); break;   // SHORT_BINUNICODE
                case 0x8d: push({read_string(read_le<std::uint64_t>())}); break;  // BINUNICODE8
                case 'U': push({read_string(read_le<std::uint8_t>())}); break;    // SHORT_BINSTRING
                case 'T': push({read_string(read_le<std::uint32_t>())}); break;   // BINSTRING
                case 'q': memo_put(at, read_le<std::uint8_t>()); break;           // BINPUT
                case 'r': memo_put(at, read_le<std::uint32_t>()); break;          // LONG_BINPUT
                case 0x94: memo_put(at, memo_.size()); break;                     // MEMOIZE
                case 'h': push(memo_get(at, read_le<std::uint8_t>())); break;     // BINGET
                case 'j': push(memo_get(at, read_le<std::uint32_t>())); break;    // LONG_BINGET
                case 'Q': push(make_storage(at, pop(at))); break;                 // BINPERSID
                case 'R': {                                                       // REDUCE
                    auto arguments = pop(at);
                    auto callable = pop(at);
                    push(reduce(at, callable, arguments));
                    break;
                }
                case 'b': {  // BUILD: only the attribute state of an (Ordered)dict, which is ignored
                    const auto state = pop(at);
                    if (!std::holds_alternative<pickle_value::dict>(top(at).value))
                        fail(at, "BUILD applies to something other than a dict");
                    if (!std::holds_alternative<pickle_value::dict>(state.value) && !std::holds_alternative<pickle_value::none>(state.value))
                        fail(at, "BUILD with a state that is not a dict");
                    break;
                }
                case 's': {  // SETITEM
                    auto value = pop(at);
                    auto key = pop(at);
                    add_item(at, top(at), std::move(key), std::move(value));
                    break;
                }
                case 'u': {  // SETITEMS
                    auto items = pop_to_mark(at);
                    if (items.size() % 2 != 0) fail(at, "SETITEMS with an odd number of values");
                    for (std::size_t i = 0; i < items.size(); i += 2) add_item(at, top(at), std::move(items[i]), std::move(items[i + 1]));
                    break;
                }
                case 'a': {  // APPEND
                    auto value = pop(at);
                    append(at, top(at), std::move(value));
                    break;
                }
                case 'e': {  // APPENDS
                    auto items = pop_to_mark(at);
                    for (auto& item : items) append(at, top(at), std::move(item));
                    break;
                }
                default: fail(at, "opcode " + opcode_name(opcode) + " is not allowed in a state dict");
            }
        }
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string& problem) const {
        throw format_error(subject_, "pickle byte " + std::to_string(at) + ": " + problem);
    }

    static std::string opcode_name(unsigned char opcode) {
        constexpr char hex[] = "0123456789abcdef";
        std::string name = "0x";
        name += hex[opcode >> 4];
        name += hex[opcode & 15];
        if (opcode >= 0x20 && opcode < 0x7f) name += std::string(" ('") + static_cast<char>(opcode) + "')";
        return name;
    }

    std::span<const std::byte> take(std::size_t count) {
        if (count > bytes_.size() - position_) fail(position_, "the pickle ends early");
        const auto part = bytes_.subspan(position_, count);
        position_ += count;
        return part;
    }
    std::byte next_byte() { return take(1)[0]; }

    template <class T>
    T read_le() {
        const auto part = take(sizeof(T));
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(part[i])) << (8 * i);
        return static_cast<T>(value);
    }

    std::int64_t read_long1(std::size_t at) {
        const auto length = read_le<std::uint8_t>();
        if (length > 8) fail(at, "LONG1 of " + std::to_string(length) + " bytes does not fit 64 bits");
        const auto part = take(length);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < length; ++i) value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(part[i])) << (8 * i);
        if (length > 0 && length < 8 && (static_cast<std::uint8_t>(part[length - 1]) & 0x80)) value |= ~std::uint64_t{0} << (8 * length);
        return static_cast<std::int64_t>(value);
    }

    /// A string of `length` bytes, which must be UTF-8 (Python's str; names become JSON keys).
    std::string read_string(std::uint64_t length) {
        const std::size_t at = position_;
        if (length > bytes_.size()) fail(at, "a string of " + std::to_string(length) + " bytes is longer than the pickle");
        const auto part = take(static_cast<std::size_t>(length));
        std::string text(reinterpret_cast<const char*>(part.data()), part.size());
        if (!is_valid_utf8(text)) fail(at, "a string that is not valid UTF-8");
        return text;
    }

    std::string read_line() {
        std::string line;
        while (true) {
            const auto c = static_cast<char>(next_byte());
            if (c == '\n') return line;
            if (line.size() > 256) fail(position_, "a GLOBAL name longer than 256 bytes");
            line += c;
        }
    }

    void push(pickle_value value) {
        if (stack_.size() >= limits_.max_stack) fail(position_, "the stack holds more than " + std::to_string(limits_.max_stack) + " values");
        stack_.push_back(std::move(value));
    }

    pickle_value pop(std::size_t at) {
        if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) fail(at, "pops an empty stack");
        auto value = std::move(stack_.back());
        stack_.pop_back();
        return value;
    }

    pickle_value& top(std::size_t at) {
        if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) fail(at, "needs a value on the stack");
        return stack_.back();
    }

    pickle_sequence pop_n(std::size_t at, std::size_t count) {
        pickle_sequence items(count);
        for (std::size_t i = count; i > 0; --i) items[i - 1] = pop(at);
        return items;
    }

    pickle_sequence pop_to_mark(std::size_t at) {
        if (marks_.empty()) fail(at, "no MARK to pop to");
        const std::size_t mark = marks_.back();
        marks_.pop_back();
        pickle_sequence items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)), std::make_move_iterator(stack_.end()));
        stack_.resize(mark);
        return items;
    }

    std::string pop_string(std::size_t at, const char* what) {
        auto value = pop(at);
        if (auto* text = std::get_if<std::string>(&value.value)) return std::move(*text);
        fail(at, std::string(what) + " is not a string");
    }

    static pickle_value empty_dict() { return {pickle_value::dict{std::make_shared<pickle_container<pickle_pairs>>()}}; }

    void check_depth(std::size_t at, std::size_t depth) const {
        if (depth > limits_.max_depth) fail(at, "values nest deeper than " + std::to_string(limits_.max_depth) + " levels");
    }

    void count_items(std::size_t at, std::size_t added) {
        items_ += added;
        if (items_ > limits_.max_items) fail(at, "more than " + std::to_string(limits_.max_items) + " container items");
    }

    pickle_value make_tuple(std::size_t at, pickle_sequence items) {
        std::size_t depth = 1;
        for (const auto& item : items) {
            item.freeze();
            depth = std::max(depth, item.depth() + 1);
        }
        check_depth(at, depth);
        count_items(at, items.size());
        return {pickle_value::tuple{std::make_shared<const pickle_sequence>(std::move(items)), depth}};
    }

    /// Checks that `node` may take `child`, then freezes the child and deepens the node.
    template <class Node>
    void insert_into(std::size_t at, Node& node, const pickle_value& child) {
        if (node.nested) fail(at, "changes a list or dict after putting it inside another value");
        child.freeze();
        if (node.nested) fail(at, "puts a list or dict inside itself");
        node.depth = std::max(node.depth, child.depth() + 1);
        check_depth(at, node.depth);
        count_items(at, 1);
    }

    void add_item(std::size_t at, pickle_value& target, pickle_value key, pickle_value value) {
        auto* dict = std::get_if<pickle_value::dict>(&target.value);
        if (dict == nullptr) fail(at, "SETITEM on something other than a dict");
        insert_into(at, *dict->node, key);
        insert_into(at, *dict->node, value);
        dict->node->items.emplace_back(std::move(key), std::move(value));
    }

    void append(std::size_t at, pickle_value& target, pickle_value value) {
        auto* list = std::get_if<pickle_value::list>(&target.value);
        if (list == nullptr) fail(at, "APPEND on something other than a list");
        insert_into(at, *list->node, value);
        list->node->items.push_back(std::move(value));
    }

    void memo_put(std::size_t at, std::size_t index) {
        if (index >= limits_.max_memo) fail(at, "memo index " + std::to_string(index) + " is past the limit of " + std::to_string(limits_.max_memo));
        memo_[index] = top(at);
    }

    pickle_value memo_get(std::size_t at, std::size_t index) {
        const auto found = memo_.find(index);
        if (found == memo_.end()) fail(at, "memo index " + std::to_string(index) + " was never stored");
        return found->second;
    }

    static bool is_storage_class(const std::string& module, const std::string& name) {
        static constexpr const char* storages[] = {"FloatStorage", "HalfStorage",  "BFloat16Storage", "DoubleStorage", "LongStorage",
                                                   "IntStorage",   "ShortStorage", "CharStorage",     "ByteStorage",   "BoolStorage"};
        return module == "torch" && std::find(std::begin(storages), std::end(storages), name) != std::end(storages);
    }

    pickle_value make_global(std::size_t at, std::string module, std::string name) {
        const bool allowed = (module == "collections" && name == "OrderedDict") ||
                             (module == "torch._utils" && (name == "_rebuild_tensor_v2" || name == "_rebuild_parameter")) ||
                             is_storage_class(module, name);
        if (!allowed) fail(at, "global " + module + "." + name + " is not allowed (a state dict needs only tensors and storages)");
        return {pickled_global{std::move(module), std::move(name)}};
    }

    static const pickle_sequence* tuple_items(const pickle_value& value) {
        const auto* tuple = std::get_if<pickle_value::tuple>(&value.value);
        return tuple ? tuple->items.get() : nullptr;
    }

    pickle_value make_storage(std::size_t at, const pickle_value& id) {
        const auto* items = tuple_items(id);
        if (items == nullptr || items->size() != 5 || !std::holds_alternative<std::string>((*items)[0].value) ||
            std::get<std::string>((*items)[0].value) != "storage")
            fail(at, "a persistent id that is not ('storage', type, key, location, numel)");
        const auto* type = std::get_if<pickled_global>(&(*items)[1].value);
        const auto* key = std::get_if<std::string>(&(*items)[2].value);
        const auto* location = std::get_if<std::string>(&(*items)[3].value);
        const auto* numel = std::get_if<std::int64_t>(&(*items)[4].value);
        if (type == nullptr || !is_storage_class(type->module, type->name) || key == nullptr || location == nullptr || numel == nullptr || *numel < 0)
            fail(at, "a storage persistent id with wrong field types");
        return {pickled_storage{type->name, *key, *location, *numel}};
    }

    static std::vector<std::int64_t> int_tuple(const pickle_value& value, bool& ok) {
        std::vector<std::int64_t> out;
        const auto* items = tuple_items(value);
        if (items == nullptr) {
            ok = false;
            return out;
        }
        for (const auto& item : *items) {
            const auto* number = std::get_if<std::int64_t>(&item.value);
            if (number == nullptr || *number < 0) ok = false;
            else out.push_back(*number);
        }
        return out;
    }

    pickle_value reduce(std::size_t at, const pickle_value& callable, const pickle_value& arguments) {
        const auto* global = std::get_if<pickled_global>(&callable.value);
        const auto* args = tuple_items(arguments);
        if (global == nullptr || args == nullptr) fail(at, "REDUCE of something other than an allowed global with a tuple");
        if (global->name == "OrderedDict") {
            if (!args->empty()) fail(at, "OrderedDict with arguments");
            return empty_dict();
        }
        if (global->name == "_rebuild_tensor_v2") {
            if (args->size() < 4) fail(at, "_rebuild_tensor_v2 with " + std::to_string(args->size()) + " arguments");
            const auto* storage = std::get_if<pickled_storage>(&(*args)[0].value);
            const auto* offset = std::get_if<std::int64_t>(&(*args)[1].value);
            bool ok = storage != nullptr && offset != nullptr && *offset >= 0;
            pickled_tensor tensor;
            tensor.shape = int_tuple((*args)[2], ok);
            tensor.stride = int_tuple((*args)[3], ok);
            if (!ok || tensor.shape.size() != tensor.stride.size()) fail(at, "_rebuild_tensor_v2 with malformed storage, offset, size or stride");
            tensor.storage = *storage;
            tensor.offset = *offset;
            return {std::move(tensor)};
        }
        if (global->name == "_rebuild_parameter") {
            if (args->empty() || !std::holds_alternative<pickled_tensor>((*args)[0].value)) fail(at, "_rebuild_parameter without a tensor");
            return (*args)[0];
        }
        fail(at, "REDUCE of " + global->module + "." + global->name + " is not allowed");
    }

    std::span<const std::byte> bytes_;
    std::string subject_;
    pickle_limits limits_;
    std::size_t position_ = 0, items_ = 0;
    std::vector<pickle_value> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::size_t, pickle_value> memo_;
};

}  // namespace lorahub::io
