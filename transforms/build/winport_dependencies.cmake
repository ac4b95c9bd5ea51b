# Written by winport (build/dependency-hook): port the sources this build fetches
# (CUTLASS, vllm-flash-attn, FlashMLA, ...) for MSVC, right after they are populated.
# The same file is written into every tree winport ports; do not edit it.
include_guard(GLOBAL)

# The build's Python (vLLM's CMakeLists finds it from VLLM_PYTHON_EXECUTABLE).
function(_winport_python out name)
  if(Python_EXECUTABLE)
    set(${out} "${Python_EXECUTABLE}" PARENT_SCOPE)
  elseif(VLLM_PYTHON_EXECUTABLE)
    set(${out} "${VLLM_PYTHON_EXECUTABLE}" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "winport: no Python to run winport with for ${name} (set VLLM_PYTHON_EXECUTABLE)")
  endif()
endfunction()

# winport_port_dependency(<name> <source dir>)
#   Runs `python -m winport rewrite --strict --dependency <source dir>` with the
#   build's Python, once: a stamp in ${CMAKE_BINARY_DIR}/winport/ makes a
#   reconfigure a no-op until a file of the dependency changes (a new revision).
#   Configuration stops with winport's message when winport is missing or a
#   transform drifts or fails. Does nothing outside Windows.
function(winport_port_dependency name source_dir)
  if(NOT WIN32)
    return()
  endif()
  if(NOT source_dir OR NOT IS_DIRECTORY "${source_dir}")
    message(FATAL_ERROR "winport: the sources of ${name} are not where the build says (${source_dir})")
  endif()
  set(stamp "${CMAKE_BINARY_DIR}/winport/${name}.ported")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" ported)
    if(ported STREQUAL "${source_dir}")
      file(GLOB_RECURSE files LIST_DIRECTORIES false "${source_dir}/*")
      set(changed FALSE)
      foreach(f IN LISTS files)
        if("${f}" IS_NEWER_THAN "${stamp}")
          set(changed TRUE)
          break()
        endif()
      endforeach()
      if(NOT changed)
        return()
      endif()
    endif()
  endif()
  _winport_python(python ${name})
  message(STATUS "winport: porting ${name} for MSVC (${source_dir})")
  execute_process(
    COMMAND "${python}" -m winport rewrite --strict --dependency "${source_dir}"
    WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    if(err MATCHES "No module named winport")
      message(FATAL_ERROR "winport: winport is not installed for ${python}, and ${name} must be ported "
                          "for MSVC before it builds. Install it: \"${python}\" -m pip install winport")
    endif()
    message(FATAL_ERROR "winport: porting ${name} (${source_dir}) failed (exit ${rc}):\n${out}${err}")
  endif()
  file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/winport")
  file(WRITE "${stamp}" "${source_dir}")
endfunction()

# winport_port_external_project(<name>)
#   An ExternalProject is downloaded when the build runs: a step between its
#   patch and configure steps ports it (the step's own stamp makes it run once).
function(winport_port_external_project name)
  if(NOT WIN32)
    return()
  endif()
  _winport_python(python ${name})
  ExternalProject_Get_Property(${name} SOURCE_DIR)
  ExternalProject_Add_Step(${name} winport
    COMMAND "${python}" -m winport rewrite --strict --dependency "${SOURCE_DIR}"
    COMMENT "winport: porting ${name} for MSVC"
    DEPENDEES patch DEPENDERS configure)
endfunction()
