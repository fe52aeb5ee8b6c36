// Overloaded{lambda...}: one visitor out of several lambdas, for std::visit over a variant
// (each alternative picks the lambda that takes it).
//
//   std::visit(base::Overloaded{[](const A& a) { ... }, [](const B& b) { ... }}, v);
#pragma once

namespace meterchain::base {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
// Spelled out for clang before 17 (the fuzz build), which does not deduce an aggregate's
// template arguments.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace meterchain::base
