# The libraries lorahub::lorahub links, found the same way by the build and by the
# installed lorahubConfig.cmake (where lorahub_find becomes find_dependency).
if(NOT COMMAND lorahub_find)
  macro(lorahub_find)
    find_package(${ARGN} REQUIRED)
  endmacro()
endif()

list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
lorahub_find(Eigen3 3.4 NO_MODULE)
lorahub_find(xtensor)
lorahub_find(nlohmann_json 3.10)
lorahub_find(SentencePiece)
lorahub_find(PCRE2)
lorahub_find(ICU COMPONENTS uc)
lorahub_find(libzip)
lorahub_find(NLopt)
lorahub_find(OpenMP COMPONENTS CXX)
lorahub_find(dnnl)
