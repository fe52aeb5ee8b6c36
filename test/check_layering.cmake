# The layering of docs/LIBRARIES.md, checked over the sources: run by CTest as
#   cmake -DROOT=<repository root> -P test/check_layering.cmake
# Fails (exit code 1) naming every forbidden edge:
#   - an #include from a folder of the table to a component its row does not allow;
#   - a target_link_libraries edge from a library of the table to one its row does not allow;
#   - any library or program but the daemon linking the node library (tests may).
# Folders not in the table (new ones) are not checked until they get their row, but nothing in
# the table may use them, since each row lists what its folder may use. Test code is exempt.
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<repository root> -P check_layering.cmake")
endif()

# ---- Includes: folder -> the components it may include ------------------------------------
# Components: a folder ("node/chain", "consensus"), "proto" (generated messages, *.pb.h),
# "proto-grpc" (generated services, *.grpc.pb.h), and the system libraries "grpc", "openssl",
# "leveldb", "protobuf", "boost".
set(base node/base)
set(allow_node/base      ${base})
set(allow_node/crypto    ${base} node/crypto openssl)
set(allow_node/chain     ${base} node/crypto node/chain proto protobuf)
set(allow_consensus      ${base} node/crypto node/chain consensus proto)
set(allow_contracts      ${base} node/crypto node/chain contracts proto protobuf openssl)
set(allow_node/storage   ${base} node/crypto node/chain node/storage proto leveldb)
set(allow_node/mempool   ${base} node/crypto node/chain node/mempool)
set(allow_node/executor  ${base} node/crypto node/chain node/storage consensus contracts
                         node/executor proto)
set(allow_node/net       ${base} node/crypto node/chain consensus node/net proto proto-grpc
                         grpc)
set(allow_node/config    ${base} node/crypto node/chain contracts node/config proto protobuf
                         openssl)
set(allow_node/client    ${base} node/crypto node/chain node/client proto proto-grpc grpc)
set(allow_node/metrics   node/metrics)
set(allow_node/audit     ${base} node/crypto node/chain node/storage consensus contracts
                         node/executor node/audit proto protobuf)
set(allow_node/gateway   ${base} node/crypto node/chain node/storage contracts node/config
                         node/metrics node/gateway proto protobuf boost openssl)
set(allow_crosschain     ${base} node/crypto node/chain node/client crosschain proto proto-grpc
                         grpc protobuf)
set(constrained node/base node/crypto node/chain consensus contracts node/storage node/mempool
                node/executor node/net node/config node/client crosschain node/metrics
                node/audit node/gateway)

set(failures "")

function(component_of include out)
  if(include MATCHES "^proto/.*\\.grpc\\.pb\\.h$")
    set(c proto-grpc)
  elseif(include MATCHES "^proto/")
    set(c proto)
  elseif(include MATCHES "^(node/[^/]+)/")
    set(c ${CMAKE_MATCH_1})
  elseif(include MATCHES "^([^/]+)/")
    set(c ${CMAKE_MATCH_1})
  else()
    set(c "")
  endif()
  set(${out} "${c}" PARENT_SCOPE)
endfunction()

function(system_component_of include out)
  set(c "")
  if(include MATCHES "^grpc")
    set(c grpc)
  elseif(include MATCHES "^openssl/")
    set(c openssl)
  elseif(include MATCHES "^leveldb/")
    set(c leveldb)
  elseif(include MATCHES "^google/protobuf/")
    set(c protobuf)
  elseif(include MATCHES "^boost/")
    set(c boost)
  endif()
  set(${out} "${c}" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE sources RELATIVE ${ROOT}
     ${ROOT}/node/*.h ${ROOT}/node/*.cpp ${ROOT}/consensus/*.h ${ROOT}/consensus/*.cpp
     ${ROOT}/contracts/*.h ${ROOT}/contracts/*.cpp ${ROOT}/crosschain/*.h
     ${ROOT}/crosschain/*.cpp)
set(checked 0)
foreach(src ${sources})
  component_of(${src} from)
  file(STRINGS ${ROOT}/${src} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line ${lines})
    if(NOT line MATCHES "#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
      continue()
    endif()
    set(kind ${CMAKE_MATCH_1})
    set(inc ${CMAKE_MATCH_2})
    if(kind STREQUAL "\"")
      component_of(${inc} to)
    else()
      system_component_of(${inc} to)
    endif()
    if("${to}" STREQUAL "" OR "${to}" STREQUAL "${from}")
      continue()
    endif()
    math(EXPR checked "${checked} + 1")
    if(from IN_LIST constrained)
      if(NOT to IN_LIST allow_${from})
        string(JOIN " " allowed ${allow_${from}})
        list(APPEND failures "${src}: includes ${inc} (${to}), while ${from} may use only: ${allowed}")
      endif()
    endif()
  endforeach()
endforeach()

# ---- Links: library -> the targets it may link ---------------------------------------------
set(link_mc_base        Threads::Threads)
set(link_mc_crypto      mc_base OpenSSL::Crypto)
set(link_mc_proto       protobuf::libprotobuf)
set(link_mc_chain       mc_crypto mc_proto)
set(link_mc_chain_wire  mc_chain mc_proto)
set(link_mc_consensus   mc_chain mc_chain_wire)
set(link_mc_contracts   mc_chain mc_crypto mc_proto protobuf::libprotobuf)
set(link_mc_storage     mc_chain mc_chain_wire leveldb::leveldb)
set(link_mc_mempool     mc_chain)
set(link_mc_executor    mc_consensus mc_contracts mc_storage)
set(link_mc_net_wire    mc_consensus mc_chain_wire mc_proto)
set(link_mc_net         mc_net_wire mc_crypto mc_proto_grpc)
set(link_mc_client      mc_chain_wire mc_proto_grpc)
set(link_mc_metrics     "")
set(link_mc_audit       mc_executor mc_storage mc_contracts Threads::Threads)
set(link_mc_crosschain  mc_client mc_chain_wire mc_proto_grpc)
set(link_libraries mc_base mc_crypto mc_proto mc_chain mc_chain_wire mc_consensus mc_contracts
                   mc_storage mc_mempool mc_executor mc_net_wire mc_net mc_client mc_metrics
                   mc_audit mc_crosschain)

file(GLOB_RECURSE lists RELATIVE ${ROOT} ${ROOT}/*/CMakeLists.txt)
set(links_checked 0)
foreach(list_file ${lists})
  if(list_file MATCHES "^(build|test)/" OR list_file MATCHES "/build/")
    continue()
  endif()
  file(READ ${ROOT}/${list_file} text)
  # Comments out, then one target_link_libraries(...) call at a time (they may span lines).
  string(REGEX REPLACE "#[^\n]*" "" text "${text}")
  string(REGEX MATCHALL "target_link_libraries\\([^)]*\\)" calls "${text}")
  foreach(call ${calls})
    string(REGEX REPLACE "^target_link_libraries\\(|\\)$" "" args "${call}")
    string(REGEX REPLACE "[ \t\r\n]+" ";" args "${args}")
    list(FILTER args EXCLUDE REGEX "^(PUBLIC|PRIVATE|INTERFACE|)$")
    list(POP_FRONT args target)
    foreach(dep ${args})
      math(EXPR links_checked "${links_checked} + 1")
      if(target IN_LIST link_libraries AND NOT dep IN_LIST link_${target})
        string(JOIN " " allowed ${link_${target}})
        list(APPEND failures "${list_file}: ${target} links ${dep}, while ${target} may link only: ${allowed}")
      endif()
      if(dep STREQUAL "mc_node" AND NOT target STREQUAL "meterchaind")
        list(APPEND failures "${list_file}: ${target} links mc_node (only the daemon may)")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked EQUAL 0 OR links_checked EQUAL 0)
  message(FATAL_ERROR "layering: found nothing to check under ${ROOT}")
endif()
if(failures)
  list(LENGTH failures n)
  foreach(f ${failures})
    message(NOTICE "layering: ${f}")
  endforeach()
  message(FATAL_ERROR "layering: ${n} forbidden edge(s); see docs/LIBRARIES.md")
endif()
message(STATUS "layering: ${checked} include edges and ${links_checked} link edges as allowed")
