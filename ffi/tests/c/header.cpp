// The header compiles as C++17 with -Wall -Wextra -Werror, and its types are usable there.
#include "otlp_arrow.h"

#include <cstdio>
#include <cstring>

int main() {
    otlp_arrow_value v{};
    v.type = OTLP_ARROW_VALUE_TYPE_INT;
    v.data.int_value = 1;
    otlp_arrow_attribute a{};
    a.key.ptr = "k";
    a.key.len = 1;
    a.value = v;
    otlp_arrow_span span{};
    span.attributes = &a;
    span.attributes_len = 1;
    static_assert(sizeof(otlp_arrow_status) == 4, "status is uint32_t");
    // Records against a NULL handle fail cleanly from C++ too.
    bool ok = otlp_arrow_record_span(nullptr, &span) == OTLP_ARROW_INVALID_ARGUMENT;
    std::printf("%s %s\n", otlp_arrow_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
